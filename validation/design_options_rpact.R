# Reference values for the `oncotrial design` options of issue 18 §1 from R rpact:
# two-sided designs (sided = 2), Kim-DeMets and Hwang-Shih-DeCani alpha and beta spending
# with their parameters, and unequal allocation (allocationRatioPlanned) with the
# Schoenfeld, Freedman and Hsieh-Freedman events formulas; binding futility (bindingFutility)
# with beta spending or Z-scale bounds, and null hazard ratios other than 1 (thetaH0; rpact
# allows them one-sided and with the Schoenfeld formula only, as oncotrial does).
# Run from the repository root:  Rscript validation/design_options_rpact.R
# Writes tests/reference/design/design_options.json (designs and sample sizes).
source(file.path("validation", "rpact_records.R"))  # rpact, jsonlite, out_dir, num(), design_record(), make_design()

# ---- group-sequential designs -------------------------------------------------------
design_cases <- list()
add <- function(...) design_cases[[length(design_cases) + 1]] <<- list(...)
rates <- list(c(0.5, 1), c(0.4, 0.7, 1), c(0.25, 0.5, 0.75, 1))
alpha_fns <- c("obf", "pocock", "hsd", "hsd:-2", "hsd:1", "kd:1", "kd:2", "kd:3")
for (t in rates) for (s in alpha_fns) {
  add(information_rates = t, alpha = 0.05, beta = 0.2, sided = 2, alpha_spending = s)
  if (startsWith(s, "kd")) add(information_rates = t, alpha = 0.025, beta = 0.1, sided = 1, alpha_spending = s)
}
add(information_rates = c(1), alpha = 0.05, beta = 0.1, sided = 2, alpha_spending = "obf")
add(information_rates = c(0.3, 0.6, 1), alpha = 0.1, beta = 0.1, sided = 2, alpha_spending = "kd:1.5")
# beta spending with a parameter (non-binding futility)
for (t in rates) for (b in c("kd:2", "kd:1.5", "hsd:-4", "hsd:1")) {
  add(information_rates = t, alpha = 0.025, beta = 0.1, sided = 1, alpha_spending = "obf", beta_spending = b)
}
add(information_rates = c(0.4, 0.7, 1), alpha = 0.025, beta = 0.2, sided = 1, alpha_spending = "kd:3",
    beta_spending = "kd:2")
add(information_rates = c(0.4, 0.7, 1), alpha = 0.025, beta = 0.2, sided = 1, alpha_spending = "hsd:-2",
    beta_spending = "hsd:-2")
# binding futility (bindingFutility = TRUE): beta spending and Z-scale futility bounds
for (t in rates) for (a in c("obf", "pocock", "hsd:-2", "kd:2")) for (b in c("obf", "pocock", "kd:2", "hsd:-4")) {
  add(information_rates = t, alpha = 0.025, beta = 0.1, sided = 1, alpha_spending = a, beta_spending = b,
      binding_futility = TRUE)
}
add(information_rates = c(0.4, 0.7, 1), alpha = 0.05, beta = 0.2, sided = 1, alpha_spending = "hsd:1",
    beta_spending = "hsd:1", binding_futility = TRUE)
add(information_rates = c(0.5, 1), alpha = 0.025, beta = 0.1, sided = 1, alpha_spending = "obf",
    futility_bounds = c(0), binding_futility = TRUE)
add(information_rates = c(0.3, 0.6, 1), alpha = 0.025, beta = 0.2, sided = 1, alpha_spending = "kd:2",
    futility_bounds = c(-0.5, 0.5), binding_futility = TRUE)

designs <- list()
for (c in design_cases) designs[[length(designs) + 1]] <- design_record(make_design(c), c, c$sided)

# ---- sample size for survival ---------------------------------------------------------
# PATINA's accrual: 2017-06-01 to 2021-07-31 (1521 days) in months of 30.4375 days.
patina_accrual <- 1521 / 30.4375
size_cases <- list(
  list(name = "patina_two_sided_ratio2", design = list(information_rates = c(0.5, 1), alpha = 0.05, beta = 0.1,
       sided = 2, alpha_spending = "kd:2"), hr = 0.667, median2 = 24, accrualTime = c(0, patina_accrual),
       maxN = 518, follow = NULL, dropout = c(0.05, 0.05), alloc = 2, method = "Schoenfeld"),
  list(name = "patina_ratio2_hsd_bsKD", design = list(information_rates = c(0.4, 0.7, 1), alpha = 0.025,
       beta = 0.1, sided = 1, alpha_spending = "hsd:-2", beta_spending = "kd:2"), hr = 0.667, median2 = 24,
       accrualTime = c(0, patina_accrual), maxN = 518, follow = NULL, dropout = c(0.05, 0.05), alloc = 2,
       method = "Schoenfeld"),
  list(name = "freedman_ratio2", design = list(information_rates = c(0.5, 1), alpha = 0.025, beta = 0.2,
       sided = 1, alpha_spending = "obf"), hr = 0.7, median2 = 12, accrualTime = c(0, 24), maxN = 450,
       follow = NULL, dropout = c(0, 0), alloc = 2, method = "Freedman"),
  list(name = "hsieh_freedman_ratio3_two_sided", design = list(information_rates = c(0.4, 0.7, 1), alpha = 0.05,
       beta = 0.2, sided = 2, alpha_spending = "pocock"), hr = 0.7, median2 = 12, accrualTime = c(0, 24),
       maxN = 500, follow = NULL, dropout = c(0.05, 0.1), alloc = 3, method = "HsiehFreedman"),
  list(name = "hsieh_freedman_ratio_half_followup", design = list(information_rates = c(0.5, 1), alpha = 0.025,
       beta = 0.1, sided = 1, alpha_spending = "kd:3"), hr = 0.75, median2 = 18, accrualTime = c(0, 30),
       maxN = NULL, follow = 12, dropout = c(0, 0), alloc = 0.5, method = "HsiehFreedman"),
  list(name = "schoenfeld_ratio_half_two_sided_fixed", design = list(information_rates = c(1), alpha = 0.05,
       beta = 0.2, sided = 2, alpha_spending = "obf"), hr = 0.6, median2 = 10, accrualTime = c(0, 18),
       maxN = 200, follow = NULL, dropout = c(0.1, 0.1), alloc = 0.5, method = "Schoenfeld"),
  # binding futility, and null hazard ratios other than 1 (thetaH0): non-inferiority (HR0 > 1),
  # superiority by a margin (HR0 < 1), and a harmful-direction alternative (HR > HR0 > 1)
  list(name = "patina_binding_bsOF", design = list(information_rates = c(0.4, 0.7, 1), alpha = 0.025,
       beta = 0.1, sided = 1, alpha_spending = "obf", beta_spending = "obf", binding_futility = TRUE),
       hr = 0.667, median2 = 24, accrualTime = c(0, patina_accrual), maxN = 518, follow = NULL,
       dropout = c(0.05, 0.05), alloc = 1, method = "Schoenfeld"),
  list(name = "patina_noninferiority_hr0_1.3", design = list(information_rates = c(0.5, 1), alpha = 0.025,
       beta = 0.1, sided = 1, alpha_spending = "obf"), hr = 0.667, hr0 = 1.3, median2 = 24,
       accrualTime = c(0, patina_accrual), maxN = 240, follow = NULL, dropout = c(0.05, 0.05), alloc = 1,
       method = "Schoenfeld"),
  list(name = "noninferiority_equal_hazards_binding_ratio2", design = list(information_rates = c(0.4, 0.7, 1),
       alpha = 0.025, beta = 0.2, sided = 1, alpha_spending = "hsd:-2", beta_spending = "kd:2",
       binding_futility = TRUE), hr = 1.0, hr0 = 1.4, median2 = 24, accrualTime = c(0, patina_accrual),
       maxN = 518, follow = NULL, dropout = c(0.05, 0.05), alloc = 2, method = "Schoenfeld"),
  list(name = "patina_noninferiority_binding_ratio2", design = list(information_rates = c(0.4, 0.7, 1),
       alpha = 0.025, beta = 0.2, sided = 1, alpha_spending = "hsd:-2", beta_spending = "kd:2",
       binding_futility = TRUE), hr = 0.667, hr0 = 1.15, median2 = 24, accrualTime = c(0, patina_accrual),
       maxN = 300, follow = NULL, dropout = c(0.05, 0.05), alloc = 2, method = "Schoenfeld"),
  list(name = "margin_superiority_hr0_0.9_followup", design = list(information_rates = c(0.5, 1), alpha = 0.025,
       beta = 0.1, sided = 1, alpha_spending = "kd:3", beta_spending = "obf"), hr = 0.6, hr0 = 0.9, median2 = 12,
       accrualTime = c(0, 24), maxN = NULL, follow = 12, dropout = c(0, 0), alloc = 1, method = "Schoenfeld"),
  list(name = "harm_hr0_1.1_fixed", design = list(information_rates = c(1), alpha = 0.025, beta = 0.2,
       sided = 1, alpha_spending = "obf"), hr = 1.6, hr0 = 1.1, median2 = 24, accrualTime = c(0, 48),
       maxN = 600, follow = NULL, dropout = c(0, 0), alloc = 1, method = "Schoenfeld")
)
sizes <- list()
for (cs in size_cases) {
  d <- make_design(cs$design)
  args <- list(design = d, hazardRatio = cs$hr, median2 = cs$median2, accrualTime = cs$accrualTime,
               dropoutRate1 = cs$dropout[1], dropoutRate2 = cs$dropout[2], dropoutTime = 12,
               allocationRatioPlanned = cs$alloc, typeOfComputation = cs$method,
               thetaH0 = if (is.null(cs$hr0)) 1 else cs$hr0)
  if (!is.null(cs$maxN)) args$maxNumberOfSubjects <- cs$maxN
  if (!is.null(cs$follow)) args$followUpTime <- cs$follow
  s <- do.call(getSampleSizeSurvival, args)
  # the bound favoring the experimental arm (HR < 1): rpact's lower effect-scale bound when two-sided
  crit_hr <- if (cs$design$sided == 2) s$criticalValuesEffectScaleLower else s$criticalValuesEffectScale
  sizes[[length(sizes) + 1]] <- list(
    name = cs$name,
    case = cs,
    critical_values = num(d$criticalValues),
    events_fixed = num(s$eventsFixed),
    max_events = num(s$maxNumberOfEvents),
    max_subjects = num(s$maxNumberOfSubjects),
    max_subjects_by_arm = c(num(s$maxNumberOfSubjects1), num(s$maxNumberOfSubjects2)),
    events_per_stage = num(s$eventsPerStage),
    analysis_times = num(s$analysisTime),
    follow_up = num(s$followUpTime),
    # patients accrued by the final analysis (rpact keeps a fixed design's planned number when
    # the events come before accrual ends)
    subjects_by_final = num(getNumberOfSubjects(time = s$analysisTime[length(s$analysisTime)],
      accrualTime = cs$accrualTime, maxNumberOfSubjects = num(s$maxNumberOfSubjects))$numberOfSubjects),
    expected_events_h0 = num(s$expectedEventsH0),
    expected_events_h1 = num(s$expectedEventsH1),
    study_duration_h1 = num(s$studyDurationH1),
    critical_values_hr = num(crit_hr),
    futility_bounds_hr = num(s$futilityBoundsEffectScale)
  )
}
write_json(list(rpact_version = as.character(packageVersion("rpact")), designs = designs, sample_sizes = sizes),
           file.path(out_dir, "design_options.json"), digits = NA, auto_unbox = TRUE, pretty = TRUE,
           null = "null", na = "null")
cat("rpact", as.character(packageVersion("rpact")), "reference values written to", out_dir, "\n")
