# Reference values for oncotrial.design.interim_analysis (issue 18 §3) from R rpact's
# getAnalysisResults for a survival dataset and a group-sequential design.
# Run from the repository root:  Rscript validation/interim_rpact.R
# Writes tests/reference/design/interim.json (read by tests/design/test_interim.py).
#
# Each case is given in oncotrial's terms (planned design, cumulative events, log-rank z positive
# favouring the experimental arm, planned maximum events) and turned into rpact's:
# - interim look: informationRates = c(events / maxEvents, planned rates of the looks to come);
# - final look with other than the planned events (over- or under-running): informationRates =
#   events / final events, typeOfDesign = "asUser" with userAlphaSpending (and typeBetaSpending =
#   "bsUser" with userBetaSpending) the error spent at events / maxEvents by the earlier looks,
#   as getAnalysisResults(maxInformation =) does itself (checked below for one case);
# - cumulativeLogRanks = -z, directionUpper = (thetaH1 > thetaH0).
# rpact's root searches (repeated p-values by bisection, intervals by uniroot) stop at
# `tolerance`, 1e-6 by default; it is set to 1e-11 here so the references are exact to 1e-6.
source(file.path("validation", "rpact_records.R"))  # rpact, jsonlite, out_dir, num()
setLogLevel("DISABLED")

as_rpact <- function(spec, prefix) {
  parts <- strsplit(spec, ":", fixed = TRUE)[[1]]
  type <- switch(parts[1], obf = "OF", pocock = "P", hsd = "HSD", kd = "KD")
  list(type = paste0(prefix, type), gamma = if (length(parts) > 1) as.numeric(parts[2]) else
    if (parts[1] == "hsd") -4 else NA)
}

design_args <- function(c, rates) {
  a <- as_rpact(c$alpha_spending, "as")
  args <- list(kMax = length(rates), alpha = c$alpha, beta = c$beta, sided = c$sided,
               informationRates = rates, typeOfDesign = if (length(rates) == 1) "asOF" else a$type)
  if (!is.na(a$gamma) && length(rates) > 1) args$gammaA <- a$gamma
  if (!is.null(c$beta_spending) && length(rates) > 1) {
    b <- as_rpact(c$beta_spending, "bs")
    args$typeBetaSpending <- b$type
    if (!is.na(b$gamma)) args$gammaB <- b$gamma
  }
  if (!is.null(c$futility_bounds) && length(rates) > 1)
    args$futilityBounds <- c$futility_bounds[seq_len(length(rates) - 1)]
  if ((!is.null(c$beta_spending) || !is.null(c$futility_bounds)) && length(rates) > 1)
    args$bindingFutility <- isTRUE(c$binding_futility)
  args
}

TOL <- 1e-11

run_case <- function(c) {
  n <- length(c$events)
  planned <- c$information_rates
  K <- length(planned)
  D <- c$max_events
  is_final <- isTRUE(c$final) || n == K || c$events[n] >= D
  overrun <- is_final && c$events[n] != D
  if (is_final) {
    rates <- c$events / c$events[n]
  } else {
    rates <- c(c$events / D, planned[-seq_len(n)])
  }
  args <- design_args(c, rates)
  if (overrun && n > 1) {
    before <- do.call(getDesignGroupSequential, design_args(c, c(c$events[-n] / D, 1)))
    args$typeOfDesign <- "asUser"
    args$userAlphaSpending <- c(before$alphaSpent[-n], c$alpha)
    args$gammaA <- NULL
    if (!is.null(args$typeBetaSpending)) {
      args$typeBetaSpending <- "bsUser"
      args$userBetaSpending <- c(before$betaSpent[-n], c$beta)
      args$gammaB <- NULL
    }
  }
  design <- do.call(getDesignGroupSequential, args)
  kd <- design$kMax
  r <- c$allocation_ratio
  data <- getDataset(cumulativeEvents = c$events, cumulativeLogRanks = -c$z,
                     cumulativeAllocationRatios = rep(r, n))
  up <- c$hazard_ratio_h1 > c$hr0
  n_planned <- if (n < kd) diff(c(c$events[n], rates[(n + 1):kd] * D)) else NA_real_
  res <- function(theta) suppressWarnings(suppressMessages(getAnalysisResults(
    design, data, directionUpper = up, thetaH0 = c$hr0, thetaH1 = theta, nPlanned = n_planned,
    allocationRatioPlanned = r, tolerance = TOL)))
  a <- res(c$hazard_ratio_h1)
  obs <- res(NA_real_)
  sr <- a$.stageResults
  events_design <- rates * (if (is_final) c$events[n] else D)
  # HR-scale bounds as rpact's design plan reports them at these events
  pw <- suppressWarnings(getPowerSurvival(design, hazardRatio = c$hazard_ratio_h1, thetaH0 = c$hr0,
                          directionUpper = up, allocationRatioPlanned = r,
                          maxNumberOfEvents = events_design[kd], maxNumberOfSubjects = 10 * events_design[kd],
                          lambda2 = 0.05))
  # rpact's two-sided conditional rejection probability mirrors the shifted upper region; the
  # probability of |Z_m| >= c_m for some m given Z_j is its conditional power at thetaH1 = thetaH0
  # with twoSidedPower = TRUE, stage = j.
  crp_two_sided <- NULL
  if (c$sided == 2 && kd > 1) {
    d2 <- do.call(getDesignGroupSequential, c(args, list(twoSidedPower = TRUE)))
    crp_two_sided <- sapply(seq_len(min(n, kd - 1)), function(j) {
      np <- diff(c(c$events[j], events_design[(j + 1):kd]))
      suppressWarnings(getAnalysisResults(d2, data, directionUpper = up, thetaH0 = c$hr0, thetaH1 = c$hr0,
        nPlanned = np, allocationRatioPlanned = r, stage = j, tolerance = TOL))$conditionalPower[kd]
    })
  }
  fut <- if (kd > 1) num(design$futilityBounds) else numeric(0)
  fut[fut <= -6] <- -Inf
  list(
    case = c,
    information_rates = num(design$informationRates),
    critical_values = num(design$criticalValues),
    futility_bounds = ifelse(is.infinite(fut), "-Inf", fut),
    alpha_spent = num(design$alphaSpent),
    # two-sided: the bound on the side of the alternative
    critical_values_hr = num(if (c$sided == 2) (if (up) pw$criticalValuesEffectScaleUpper else
      pw$criticalValuesEffectScaleLower) else pw$criticalValuesEffectScale),
    futility_bounds_hr = if (any(is.finite(fut))) num(pw$futilityBoundsEffectScale) else numeric(0),
    test_statistics = -num(sr$overallTestStatistics[1:n]) * (if (up) -1 else 1),
    overall_p_values = num(sr$overallPValues[1:n]),
    effect_sizes = num(sr$effectSizes[1:n]),
    test_actions = a$testActions[1:n],
    conditional_rejection_probabilities = if (kd > 1) num(a$conditionalRejectionProbabilities[1:n]) else NA,
    crp_two_sided = crp_two_sided,
    conditional_power = if (n < kd) num(a$conditionalPower[kd]) else NA,
    conditional_power_observed = if (n < kd) num(obs$conditionalPower[kd]) else NA,
    n_planned = n_planned,
    repeated_ci_lower = num(a$repeatedConfidenceIntervalLowerBounds[1:n]),
    repeated_ci_upper = num(a$repeatedConfidenceIntervalUpperBounds[1:n]),
    repeated_p_values = num(a$repeatedPValues[1:n]),
    final_stage = if (kd > 1) num(a$finalStage) else NA,
    final_p_value = if (kd > 1) num(a$finalPValues[1:n]) else NA,
    final_ci_lower = if (kd > 1) num(a$finalConfidenceIntervalLowerBounds[1:n]) else NA,
    final_ci_upper = if (kd > 1) num(a$finalConfidenceIntervalUpperBounds[1:n]) else NA,
    median_unbiased = if (kd > 1) num(a$medianUnbiasedEstimates[1:n]) else NA,
    overrun = overrun
  )
}

cases <- list()
add <- function(name, ...) {
  x <- list(name = name, ...)
  defaults <- list(alpha = 0.025, beta = 0.1, sided = 1, alpha_spending = "obf", allocation_ratio = 1,
                   hr0 = 1, hazard_ratio_h1 = 0.667, final = FALSE)
  for (k in names(defaults)) if (is.null(x[[k]])) x[[k]] <- defaults[[k]]
  cases[[length(cases) + 1]] <<- x
}
patina <- c(0.5, 1)
# PATINA-like: one-sided OBF, 2 looks, 328 events planned
add("patina_on_plan", information_rates = patina, max_events = 328, events = c(164), z = c(2.1))
add("patina_info_047", information_rates = patina, max_events = 328, events = c(154), z = c(2.1))
add("patina_info_055", information_rates = patina, max_events = 328, events = c(180), z = c(1.4))
add("patina_stop_look1", information_rates = patina, max_events = 328, events = c(160), z = c(3.4))
add("patina_final_on_plan", information_rates = patina, max_events = 328, events = c(160, 328), z = c(2.2, 2.5))
add("patina_final_overrun", information_rates = patina, max_events = 328, events = c(160, 345), z = c(2.2, 2.1))
add("patina_final_underrun", information_rates = patina, max_events = 328, events = c(160, 320), z = c(1.5, 1.9),
    final = TRUE)
add("patina_final_not_rejected", information_rates = patina, max_events = 328, events = c(170, 330),
    z = c(0.8, 1.2))
# three looks
r3 <- c(0.4, 0.7, 1)
add("three_looks_look2", information_rates = r3, max_events = 400, events = c(150, 290), z = c(1.2, 2.0))
add("three_looks_look1", information_rates = r3, max_events = 400, events = c(170), z = c(0.9))
add("three_looks_stop_look2", information_rates = r3, max_events = 400, events = c(150, 290), z = c(2.0, 3.1))
add("three_looks_overrun_look2", information_rates = r3, max_events = 400, events = c(150, 410), z = c(1.2, 2.2))
add("three_looks_final", information_rates = r3, max_events = 400, events = c(150, 290, 395), z = c(1.0, 1.5, 2.3))
add("pocock_look2", information_rates = r3, max_events = 400, events = c(150, 290), z = c(1.2, 2.1),
    alpha_spending = "pocock")
add("hsd_look2", information_rates = r3, max_events = 400, events = c(170, 270), z = c(1.4, 1.7),
    alpha_spending = "hsd:-4")
add("kd3_look2", information_rates = r3, max_events = 400, events = c(150, 290), z = c(1.1, 2.4),
    alpha_spending = "kd:3")
add("kd3_final", information_rates = r3, max_events = 400, events = c(150, 290, 400), z = c(1.1, 1.9, 2.4),
    alpha_spending = "kd:3")
# two-sided
add("two_sided_look1", information_rates = patina, max_events = 330, events = c(160), z = c(1.8),
    alpha = 0.05, sided = 2)
add("two_sided_look2_of3", information_rates = r3, max_events = 400, events = c(150, 290), z = c(1.5, 2.2),
    alpha = 0.05, sided = 2, alpha_spending = "hsd:-2")
add("two_sided_stop_look2", information_rates = r3, max_events = 400, events = c(150, 290), z = c(1.5, 3.0),
    alpha = 0.05, sided = 2)
add("two_sided_final", information_rates = patina, max_events = 330, events = c(160, 335), z = c(1.5, 2.0),
    alpha = 0.05, sided = 2, alpha_spending = "kd:2")
add("two_sided_stop_look1", information_rates = patina, max_events = 330, events = c(160), z = c(3.2),
    alpha = 0.05, sided = 2)
# futility bounds on the Z scale, non-binding and binding
add("futility_nonbinding", information_rates = r3, max_events = 400, events = c(150, 290), z = c(0.5, 1.6),
    futility_bounds = c(0, 0.5))
add("futility_nonbinding_accept", information_rates = r3, max_events = 400, events = c(150), z = c(-0.4),
    futility_bounds = c(0, 0.5))
add("futility_binding", information_rates = r3, max_events = 400, events = c(150, 290), z = c(0.5, 1.6),
    futility_bounds = c(0, 0.5), binding_futility = TRUE)
add("futility_binding_stop", information_rates = r3, max_events = 400, events = c(150, 290), z = c(0.5, 0.2),
    futility_bounds = c(0, 0.5), binding_futility = TRUE)
add("futility_binding_final", information_rates = r3, max_events = 400, events = c(150, 290, 405),
    z = c(0.5, 1.6, 2.1), futility_bounds = c(0, 0.5), binding_futility = TRUE)
# beta spending
add("beta_spending_look2", information_rates = r3, max_events = 400, events = c(150, 290), z = c(1.0, 1.8),
    beta_spending = "obf")
add("beta_spending_binding_look2", information_rates = r3, max_events = 400, events = c(150, 290),
    z = c(1.0, 1.8), beta_spending = "kd:2", binding_futility = TRUE)
add("beta_spending_overrun", information_rates = patina, max_events = 328, events = c(150, 340),
    z = c(1.0, 2.1), beta_spending = "hsd:-2")
# allocation 2:1, non-inferiority hr0 1.3, an alternative with HR > hr0
add("ratio2_look1", information_rates = patina, max_events = 330, events = c(160), z = c(2.0),
    allocation_ratio = 2)
add("ratio2_final", information_rates = patina, max_events = 330, events = c(160, 330), z = c(2.0, 2.6),
    allocation_ratio = 2)
add("ni_hr0_13_look1", information_rates = patina, max_events = 310, events = c(150), z = c(0.3),
    hr0 = 1.3, hazard_ratio_h1 = 0.9)
add("ni_hr0_13_final", information_rates = patina, max_events = 310, events = c(150, 312), z = c(0.3, 0.5),
    hr0 = 1.3, hazard_ratio_h1 = 0.9, allocation_ratio = 2)
add("ni_hr0_13_stop_look1", information_rates = patina, max_events = 310, events = c(150), z = c(1.9),
    hr0 = 1.3, hazard_ratio_h1 = 0.9)
add("harm_direction_look2", information_rates = r3, max_events = 400, events = c(150, 290), z = c(-1.0, -2.0),
    hazard_ratio_h1 = 1.4)

records <- lapply(cases, run_case)

# getAnalysisResults(maxInformation =) recalculates an over-running final look itself: the same
# design, up to its userAlphaSpending being written out to 7 digits (0.02499999 for 0.025).
stopifnot(local({
  c <- cases[[which(sapply(cases, `[[`, "name") == "patina_final_overrun")]]
  d <- getDesignGroupSequential(kMax = 2, alpha = 0.025, beta = 0.1, typeOfDesign = "asOF")
  data <- getDataset(cumulativeEvents = c$events, cumulativeLogRanks = -c$z)
  auto <- suppressWarnings(suppressMessages(getAnalysisResults(d, data, directionUpper = FALSE,
                                                               maxInformation = 328, tolerance = TOL)))
  rec <- records[[which(sapply(cases, `[[`, "name") == "patina_final_overrun")]]
  isTRUE(all.equal(num(auto$.design$criticalValues), rec$critical_values, tolerance = 1e-5)) &&
    isTRUE(all.equal(num(auto$finalPValues[2]), rec$final_p_value[2], tolerance = 1e-5))
}))

out <- file.path(out_dir, "interim.json")
writeLines(toJSON(list(rpact = as.character(packageVersion("rpact")), cases = records), auto_unbox = TRUE,
                  digits = NA, pretty = TRUE, na = "null"), out)
cat("wrote", out, "with", length(records), "cases\n")
