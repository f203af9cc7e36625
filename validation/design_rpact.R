# Reference values for oncotrial.design from R rpact.
# Run from the repository root:  Rscript validation/design_rpact.R
# Writes tests/reference/design/{designs,sample_sizes,event_probabilities}.json
source(file.path("validation", "rpact_records.R"))  # rpact, jsonlite, out_dir, num(), design_record()

# ---- group-sequential designs -------------------------------------------------------
rates <- list(c(1), c(0.5, 1), c(0.4, 0.7, 1), c(0.25, 0.5, 0.75, 1))
spend <- list(
  list(type = "asOF", kind = "obf", gamma = NA),
  list(type = "asP", kind = "pocock", gamma = NA),
  list(type = "asHSD", kind = "hsd", gamma = -4),
  list(type = "asHSD", kind = "hsd", gamma = -2),
  list(type = "asHSD", kind = "hsd", gamma = 1)
)
designs <- list()
add_design <- function(args, py) {
  designs[[length(designs) + 1]] <<- design_record(do.call(getDesignGroupSequential, args), py)
}
for (t in rates) for (s in spend) for (beta in c(0.1, 0.2)) {
  if (length(t) == 1 && s$kind != "obf") next
  args <- list(kMax = length(t), alpha = 0.025, beta = beta, sided = 1, informationRates = t,
               typeOfDesign = if (length(t) == 1) "asOF" else s$type)
  if (!is.na(s$gamma)) args$gammaA <- s$gamma
  add_design(args, list(information_rates = t, alpha = 0.025, beta = beta, alpha_spending = s$kind,
                        gamma_alpha = if (is.na(s$gamma)) -4 else s$gamma))
}
# Z-scale futility bounds, non-binding and binding
for (binding in c(FALSE, TRUE)) for (s in spend[1:3]) {
  args <- list(kMax = 3, alpha = 0.025, beta = 0.1, sided = 1, informationRates = c(0.4, 0.7, 1),
               typeOfDesign = s$type, futilityBounds = c(0, 0.5), bindingFutility = binding)
  if (!is.na(s$gamma)) args$gammaA <- s$gamma
  add_design(args, list(information_rates = c(0.4, 0.7, 1), alpha = 0.025, beta = 0.1,
                        alpha_spending = s$kind, gamma_alpha = if (is.na(s$gamma)) -4 else s$gamma,
                        futility_bounds = c(0, 0.5), binding_futility = binding))
}
# beta-spending futility bounds (non-binding)
bspend <- list(list(type = "bsOF", kind = "obf", gamma = NA), list(type = "bsP", kind = "pocock", gamma = NA),
               list(type = "bsHSD", kind = "hsd", gamma = -2))
for (t in rates[2:4]) for (b in bspend) {
  args <- list(kMax = length(t), alpha = 0.025, beta = 0.1, sided = 1, informationRates = t,
               typeOfDesign = "asOF", typeBetaSpending = b$type, bindingFutility = FALSE)
  if (!is.na(b$gamma)) args$gammaB <- b$gamma
  add_design(args, list(information_rates = t, alpha = 0.025, beta = 0.1, alpha_spending = "obf",
                        beta_spending = b$kind, gamma_beta = if (is.na(b$gamma)) -4 else b$gamma))
}
write_json(designs, file.path(out_dir, "designs.json"), digits = NA, auto_unbox = TRUE, pretty = TRUE)

# ---- sample size for survival ---------------------------------------------------------
cases <- list(
  list(name = "patina_fixed", design = list(rates = c(1), type = "asOF"), hr = 0.667, median2 = 29,
       accrualTime = c(0, 48), maxN = 518, follow = NULL, dropout = c(0, 0), alloc = 1, method = "Schoenfeld"),
  list(name = "patina_3look_futility", design = list(rates = c(0.4, 0.7, 1), type = "asOF", fut = c(0, 0.5)),
       hr = 0.667, median2 = 29, accrualTime = c(0, 48), maxN = 518, follow = NULL, dropout = c(0.05, 0.05),
       alloc = 1, method = "Schoenfeld"),
  list(name = "freedman_followup", design = list(rates = c(0.4, 0.7, 1), type = "asOF", fut = c(0, 0.5)),
       hr = 0.667, median2 = 29, accrualTime = c(0, 48), maxN = NULL, follow = 12, dropout = c(0, 0),
       alloc = 1, method = "Freedman"),
  list(name = "piecewise_accrual_alloc2", design = list(rates = c(0.5, 1), type = "asP"), hr = 0.7,
       median2 = 18, accrualTime = c(0, 6, 30), intensity = c(0.1, 0.3), maxN = 700, follow = NULL,
       dropout = c(0.1, 0.05), alloc = 2, method = "Schoenfeld"),
  list(name = "piecewise_hazard_followup", design = list(rates = c(0.33, 0.67, 1), type = "asHSD", gamma = -4),
       hr = 0.75, lambda2 = c(0.03, 0.02), pwTime = c(0, 12), accrualTime = c(0, 24), maxN = NULL,
       follow = 18, dropout = c(0.05, 0.05), alloc = 1, method = "Schoenfeld"),
  list(name = "beta_spending", design = list(rates = c(0.5, 1), type = "asOF", bs = "bsOF"), hr = 0.667,
       median2 = 29, accrualTime = c(0, 48), maxN = 518, follow = NULL, dropout = c(0.05, 0.05), alloc = 1,
       method = "Schoenfeld")
)
sizes <- list()
for (cs in cases) {
  dargs <- list(kMax = length(cs$design$rates), alpha = 0.025, beta = 0.1, sided = 1,
                informationRates = cs$design$rates, typeOfDesign = cs$design$type)
  if (!is.null(cs$design$gamma)) dargs$gammaA <- cs$design$gamma
  if (!is.null(cs$design$fut)) dargs$futilityBounds <- cs$design$fut
  if (!is.null(cs$design$bs)) { dargs$typeBetaSpending <- cs$design$bs; dargs$bindingFutility <- FALSE }
  d <- do.call(getDesignGroupSequential, dargs)
  args <- list(design = d, hazardRatio = cs$hr, accrualTime = cs$accrualTime,
               dropoutRate1 = cs$dropout[1], dropoutRate2 = cs$dropout[2], dropoutTime = 12,
               allocationRatioPlanned = cs$alloc, typeOfComputation = cs$method)
  if (!is.null(cs$median2)) args$median2 <- cs$median2
  if (!is.null(cs$lambda2)) { args$lambda2 <- cs$lambda2; args$piecewiseSurvivalTime <- cs$pwTime }
  if (!is.null(cs$intensity)) args$accrualIntensity <- cs$intensity
  if (!is.null(cs$maxN)) args$maxNumberOfSubjects <- cs$maxN
  if (!is.null(cs$follow)) args$followUpTime <- cs$follow
  s <- do.call(getSampleSizeSurvival, args)
  sizes[[length(sizes) + 1]] <- list(
    name = cs$name,
    case = cs,
    events_fixed = num(s$eventsFixed),
    max_events = num(s$maxNumberOfEvents),
    max_subjects = num(s$maxNumberOfSubjects),
    events_per_stage = num(s$eventsPerStage),
    analysis_times = num(s$analysisTime),
    follow_up = num(s$followUpTime),
    expected_events_h0 = num(s$expectedEventsH0),
    expected_events_h1 = num(s$expectedEventsH1),
    study_duration_h1 = num(s$studyDurationH1),
    critical_values_hr = num(s$criticalValuesEffectScale),
    futility_bounds_hr = num(s$futilityBoundsEffectScale)
  )
}
write_json(sizes, file.path(out_dir, "sample_sizes.json"), digits = NA, auto_unbox = TRUE, pretty = TRUE,
           null = "null", na = "null")

# ---- expected event probabilities -----------------------------------------------------
ev_cases <- list(
  list(time = c(6, 10, 30, 48, 60, 90), lambda2 = log(2) / 29, hr = 0.667, pwTime = NULL,
       accrualTime = c(0, 12, 48), accrualIntensity = c(5, 12), dropout = c(0.05, 0.05), alloc = 1),
  list(time = c(3, 12, 24, 36), lambda2 = c(0.05, 0.02, 0.04), hr = 0.6, pwTime = c(0, 6, 18),
       accrualTime = c(0, 4, 10, 20), accrualIntensity = c(10, 30, 20), dropout = c(0.1, 0.2), alloc = 2)
)
evs <- list()
for (cs in ev_cases) {
  args <- list(time = cs$time, lambda2 = cs$lambda2, hazardRatio = cs$hr, accrualTime = cs$accrualTime,
               accrualIntensity = cs$accrualIntensity, dropoutRate1 = cs$dropout[1],
               dropoutRate2 = cs$dropout[2], dropoutTime = 12, allocationRatioPlanned = cs$alloc)
  if (!is.null(cs$pwTime)) args$piecewiseSurvivalTime <- cs$pwTime
  e <- do.call(getEventProbabilities, args)
  evs[[length(evs) + 1]] <- list(case = cs, max_subjects = num(e$maxNumberOfSubjects),
                                 cumulative = num(e$cumulativeEventProbabilities),
                                 arm1 = num(e$eventProbabilities1), arm2 = num(e$eventProbabilities2))
}
write_json(evs, file.path(out_dir, "event_probabilities.json"), digits = NA, auto_unbox = TRUE, pretty = TRUE,
           null = "null")
cat("rpact", as.character(packageVersion("rpact")), "reference values written to", out_dir, "\n")
