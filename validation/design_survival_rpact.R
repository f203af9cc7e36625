# Reference values for issue 18 §1 (survival beyond the exponential) from R rpact:
# piecewise-exponential control survival (piecewiseSurvivalTime, lambda2), Weibull survival
# (kappa with median2 or lambda2; rpact allows it without dropout only), accrual that
# overruns the final analysis (maxNumberOfSubjects so large that the events come before
# accrual ends: rpact warns and reports the patients accrued by the final analysis for a
# group-sequential design), and getPowerSurvival at given events and patients.
# Run from the repository root:  Rscript validation/design_survival_rpact.R
# Writes tests/reference/design/design_survival.json (read by tests/design/test_rpact_survival.py).
source(file.path("validation", "rpact_records.R"))  # rpact, jsonlite, out_dir, num(), design_record(), make_design()

patina_accrual <- 1521 / 30.4375  # PATINA: 2017-06-01 to 2021-07-31 in months of 30.4375 days
obf2 <- list(information_rates = c(0.5, 1), alpha = 0.025, beta = 0.1, sided = 1, alpha_spending = "obf")
fixed <- list(information_rates = c(1), alpha = 0.025, beta = 0.1, sided = 1, alpha_spending = "obf")
pw <- list(lambda2 = c(0.03, 0.025, 0.02), pwTime = c(0, 6, 12))  # the README's --control-hazards example

# survival: list(median2), list(lambda2, pwTime) or list(kappa, median2 | lambda2)
survival_args <- function(sv) {
  a <- list()
  if (!is.null(sv$median2)) a$median2 <- sv$median2
  if (!is.null(sv$lambda2)) a$lambda2 <- sv$lambda2
  if (!is.null(sv$pwTime)) a$piecewiseSurvivalTime <- sv$pwTime
  if (!is.null(sv$kappa)) a$kappa <- sv$kappa
  a
}

# warnings kept, not printed: the overrun warning is part of the record
with_warnings <- function(expr) {
  w <- character(0)
  value <- withCallingHandlers(expr, warning = function(c) {
    w <<- c(w, conditionMessage(c))
    invokeRestart("muffleWarning")
  })
  list(value = value, warnings = w)
}

# ---- getSampleSizeSurvival ------------------------------------------------------------
size_cases <- list(
  list(name = "patina_piecewise", design = obf2, hr = 0.667, survival = pw,
       accrualTime = c(0, patina_accrual), maxN = 518, dropout = c(0.05, 0.05), alloc = 1, method = "Schoenfeld"),
  list(name = "piecewise_followup_ratio2", design = list(information_rates = c(0.4, 0.7, 1), alpha = 0.025,
       beta = 0.1, sided = 1, alpha_spending = "hsd:-2", beta_spending = "kd:2"), hr = 0.7,
       survival = list(lambda2 = c(0.04, 0.02, 0.03), pwTime = c(0, 6, 18)), accrualTime = c(0, 24),
       follow = 12, dropout = c(0.05, 0.1), alloc = 2, method = "Schoenfeld"),
  list(name = "piecewise_freedman_two_sided", design = list(information_rates = c(0.4, 0.7, 1), alpha = 0.05,
       beta = 0.2, sided = 2, alpha_spending = "pocock"), hr = 0.7,
       survival = list(lambda2 = c(0.05, 0.03), pwTime = c(0, 12)), accrualTime = c(0, 30), maxN = 600,
       dropout = c(0, 0), alloc = 1, method = "Freedman"),
  list(name = "patina_weibull", design = obf2, hr = 0.667, survival = list(kappa = 1.5, median2 = 24),
       accrualTime = c(0, patina_accrual), maxN = 518, dropout = c(0, 0), alloc = 1, method = "Schoenfeld"),
  list(name = "weibull_followup_ratio2", design = list(information_rates = c(0.3, 0.6, 1), alpha = 0.025,
       beta = 0.2, sided = 1, alpha_spending = "kd:2"), hr = 0.7, survival = list(kappa = 0.8, median2 = 12),
       accrualTime = c(0, 24), follow = 12, dropout = c(0, 0), alloc = 2, method = "Schoenfeld"),
  list(name = "weibull_lambda_hsieh_freedman", design = fixed, hr = 0.6, survival = list(kappa = 2, lambda2 = 0.05),
       accrualTime = c(0, 18), maxN = 400, dropout = c(0, 0), alloc = 1, method = "HsiehFreedman"),
  list(name = "weibull_two_sided_beta_spending", design = list(information_rates = c(0.5, 1), alpha = 0.05,
       beta = 0.1, sided = 2, alpha_spending = "obf"), hr = 0.75, survival = list(kappa = 1.2, median2 = 18),
       accrualTime = c(0, 30), maxN = 700, dropout = c(0, 0), alloc = 1, method = "Schoenfeld"),
  # accrual overrunning the final analysis
  list(name = "patina_overrun_900", design = obf2, hr = 0.667, survival = list(median2 = 24),
       accrualTime = c(0, patina_accrual), maxN = 900, dropout = c(0.05, 0.05), alloc = 1, method = "Schoenfeld"),
  list(name = "patina_overrun_900_fixed", design = fixed, hr = 0.667, survival = list(median2 = 24),
       accrualTime = c(0, patina_accrual), maxN = 900, dropout = c(0.05, 0.05), alloc = 1, method = "Schoenfeld"),
  list(name = "overrun_piecewise_3looks", design = list(information_rates = c(0.4, 0.7, 1), alpha = 0.025,
       beta = 0.1, sided = 1, alpha_spending = "obf", beta_spending = "obf"), hr = 0.667, survival = pw,
       accrualTime = c(0, 12, patina_accrual), intensity = c(0.1, 0.3), maxN = 1400, dropout = c(0.05, 0.05),
       alloc = 1, method = "Schoenfeld"),
  list(name = "overrun_weibull_ratio2", design = obf2, hr = 0.667, survival = list(kappa = 1.5, median2 = 24),
       accrualTime = c(0, patina_accrual), maxN = 1000, dropout = c(0, 0), alloc = 2, method = "Schoenfeld")
)
size_record <- function(cs) {
  d <- make_design(cs$design)
  args <- c(list(design = d, hazardRatio = cs$hr, accrualTime = cs$accrualTime, dropoutRate1 = cs$dropout[1],
                 dropoutRate2 = cs$dropout[2], dropoutTime = 12, allocationRatioPlanned = cs$alloc,
                 typeOfComputation = cs$method), survival_args(cs$survival))
  if (!is.null(cs$intensity)) args$accrualIntensity <- cs$intensity
  if (!is.null(cs$maxN)) args$maxNumberOfSubjects <- cs$maxN
  if (!is.null(cs$follow)) args$followUpTime <- cs$follow
  r <- with_warnings(do.call(getSampleSizeSurvival, args))
  s <- r$value
  times <- num(s$analysisTime)
  crit_hr <- if (cs$design$sided == 2) s$criticalValuesEffectScaleLower else s$criticalValuesEffectScale
  list(
    name = cs$name, case = cs, design = design_record(d, cs$design, cs$design$sided), warnings = r$warnings,
    lambda1 = num(s$lambda1), lambda2 = num(s$lambda2),
    events_fixed = num(s$eventsFixed), max_events = num(s$maxNumberOfEvents),
    max_subjects = num(s$maxNumberOfSubjects), events_per_stage = num(s$eventsPerStage),
    analysis_times = times, follow_up = num(s$followUpTime),
    # rpact's numberOfSubjects per stage (a fixed design: the planned number)
    subjects_per_stage = num(s$numberOfSubjects),
    # patients accrued by the final analysis, by rpact's own accrual function
    subjects_by_final = num(getNumberOfSubjects(
      time = times[length(times)], accrualTime = cs$accrualTime,
      accrualIntensity = if (is.null(cs$intensity)) NA_real_ else cs$intensity,
      maxNumberOfSubjects = if (is.null(cs$maxN)) num(s$maxNumberOfSubjects) else cs$maxN)$numberOfSubjects),
    expected_subjects_h1 = num(s$expectedNumberOfSubjectsH1),
    expected_events_h0 = num(s$expectedEventsH0), expected_events_h1 = num(s$expectedEventsH1),
    study_duration_h1 = num(s$studyDurationH1), critical_values_hr = num(crit_hr),
    futility_bounds_hr = num(s$futilityBoundsEffectScale)
  )
}
sizes <- lapply(size_cases, size_record)

# ---- getPowerSurvival (directionUpper = FALSE: rejecting for HR < thetaH0) -------------------
power_cases <- list(
  list(name = "power_exponential_3looks_futility", design = list(information_rates = c(0.4, 0.7, 1),
       alpha = 0.025, beta = 0.1, sided = 1, alpha_spending = "obf", beta_spending = "obf"), hr = 0.7,
       survival = list(median2 = 24), maxEvents = 250, maxN = 518, accrualTime = c(0, patina_accrual),
       dropout = c(0.05, 0.05), alloc = 1, method = "Schoenfeld"),
  list(name = "power_piecewise", design = obf2, hr = 0.75, survival = pw, maxEvents = 300, maxN = 700,
       accrualTime = c(0, 36), dropout = c(0.05, 0.05), alloc = 1, method = "Schoenfeld"),
  list(name = "power_weibull_fixed", design = fixed, hr = 0.667, survival = list(kappa = 1.5, median2 = 24),
       maxEvents = 200, maxN = 400, accrualTime = c(0, 24), dropout = c(0, 0), alloc = 1, method = "Schoenfeld"),
  list(name = "power_overrun", design = obf2, hr = 0.7, survival = list(median2 = 24), maxEvents = 250,
       maxN = 1000, accrualTime = c(0, patina_accrual), dropout = c(0.05, 0.05), alloc = 1, method = "Schoenfeld"),
  list(name = "power_freedman_ratio2", design = list(information_rates = c(0.5, 1), alpha = 0.025, beta = 0.2,
       sided = 1, alpha_spending = "kd:2"), hr = 0.7, survival = list(median2 = 12), maxEvents = 280,
       maxN = 450, accrualTime = c(0, 24), dropout = c(0, 0), alloc = 2, method = "Freedman"),
  list(name = "power_noninferiority_hr0_1.3", design = obf2, hr = 0.9, hr0 = 1.3, survival = list(median2 = 24),
       maxEvents = 200, maxN = 500, accrualTime = c(0, 36), dropout = c(0.05, 0.05), alloc = 1,
       method = "Schoenfeld")
)
power_record <- function(cs) {
  d <- make_design(cs$design)
  args <- c(list(design = d, hazardRatio = cs$hr, maxNumberOfEvents = cs$maxEvents, maxNumberOfSubjects = cs$maxN,
                 accrualTime = cs$accrualTime, dropoutRate1 = cs$dropout[1], dropoutRate2 = cs$dropout[2],
                 dropoutTime = 12, allocationRatioPlanned = cs$alloc, typeOfComputation = cs$method,
                 thetaH0 = if (is.null(cs$hr0)) 1 else cs$hr0, directionUpper = FALSE), survival_args(cs$survival))
  r <- with_warnings(do.call(getPowerSurvival, args))
  p <- r$value
  list(
    name = cs$name, case = cs, design = design_record(d, cs$design, cs$design$sided), warnings = r$warnings,
    power = num(p$overallReject), rejection_probabilities = num(p$rejectPerStage),
    futility_probabilities = num(p$futilityPerStage), events_per_stage = num(p$eventsPerStage),
    analysis_times = num(p$analysisTime), subjects_per_stage = num(p$numberOfSubjects),
    max_subjects = num(p$maxNumberOfSubjects), follow_up = num(p$followUpTime),
    expected_events = num(p$expectedNumberOfEvents), expected_subjects = num(p$expectedNumberOfSubjects),
    study_duration = num(p$studyDuration)
  )
}
powers <- lapply(power_cases, power_record)

write_json(list(rpact_version = as.character(packageVersion("rpact")), sample_sizes = sizes, powers = powers),
           file.path(out_dir, "design_survival.json"), digits = NA, auto_unbox = TRUE, pretty = TRUE,
           null = "null", na = "null")
cat("rpact", as.character(packageVersion("rpact")), "reference values written to", out_dir, "\n")
