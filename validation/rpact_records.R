# What the rpact reference scripts share: rpact and jsonlite loaded, the output folder, and the
# record of a design, in one place, so that every reference
# file describes a design by the same fields (read by tests/design/test_rpact_reference.py,
# check_design). Sourced from the repository root by validation/design_rpact.R and
# validation/design_options_rpact.R.
suppressPackageStartupMessages({
  library(rpact)
  library(jsonlite)
})
out_dir <- file.path("tests", "reference", "design")
dir.create(out_dir, recursive = TRUE, showWarnings = FALSE)
num <- function(x) if (is.null(x)) NULL else as.numeric(x)

# `d` from getDesignGroupSequential, described by oncotrial's arguments `args`; rpact gives
# futility probabilities of one-sided designs only.
design_record <- function(d, args, sided = 1) {
  ch <- getDesignCharacteristics(d)
  fut <- if (d$kMax > 1) num(d$futilityBounds) else numeric(0)
  fut[fut <= -6] <- -Inf  # rpact's C_FUTILITY_BOUNDS_DEFAULT (-6) means "no futility bound"
  list(
    args = args,
    critical_values = num(d$criticalValues),
    alpha_spent = num(d$alphaSpent),
    stage_levels = num(d$stageLevels),
    futility_bounds = ifelse(is.infinite(fut), "-Inf", fut),
    shift = num(ch$shift),
    inflation_factor = num(ch$inflationFactor),
    power = num(ch$power),
    rejection_probabilities = num(ch$rejectionProbabilities),
    futility_probabilities = if (d$kMax > 1 && sided == 1) num(ch$futilityProbabilities) else numeric(0)
  )
}
