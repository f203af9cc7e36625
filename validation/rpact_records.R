# What the rpact reference scripts share: rpact and jsonlite loaded, the output folder, and the
# record of a design, in one place, so that every reference
# file describes a design by the same fields (read by tests/design/test_rpact_reference.py,
# check_design). Sourced from the repository root by validation/design_rpact.R and
# validation/design_options_rpact.R and
# validation/design_survival_rpact.R.
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

# A design described as oncotrial spells it (information_rates, alpha, beta, sided,
# alpha_spending / beta_spending "kind[:parameter]", futility_bounds, binding_futility).
# The spending "kind[:parameter]" -> rpact's type and gamma.
as_rpact <- function(spec, prefix) {
  parts <- strsplit(spec, ":", fixed = TRUE)[[1]]
  type <- switch(parts[1], obf = "OF", pocock = "P", hsd = "HSD", kd = "KD")
  list(type = paste0(prefix, type), gamma = if (length(parts) > 1) as.numeric(parts[2]) else
    if (parts[1] == "hsd") -4 else NA)
}

make_design <- function(c) {
  a <- as_rpact(c$alpha_spending, "as")
  args <- list(kMax = length(c$information_rates), alpha = c$alpha, beta = c$beta, sided = c$sided,
               informationRates = c$information_rates,
               typeOfDesign = if (length(c$information_rates) == 1) "asOF" else a$type)
  if (!is.na(a$gamma) && length(c$information_rates) > 1) args$gammaA <- a$gamma
  binding <- isTRUE(c$binding_futility)
  if (!is.null(c$beta_spending)) {
    b <- as_rpact(c$beta_spending, "bs")
    args$typeBetaSpending <- b$type
    if (!is.na(b$gamma)) args$gammaB <- b$gamma
  }
  if (!is.null(c$futility_bounds)) args$futilityBounds <- c$futility_bounds
  if (!is.null(c$beta_spending) || !is.null(c$futility_bounds)) args$bindingFutility <- binding
  do.call(getDesignGroupSequential, args)
}
