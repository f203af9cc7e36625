# Reference cases for oncotrial.sim.ipd_from_km (Guyot et al. 2012): R's own Kaplan-Meier curves
# "digitized" as a person with a digitizer would read them, with their numbers-at-risk tables, the
# true total events, and the true statistics the reconstruction should recover.
#
# Run from the repository root:  Rscript validation/ipd_from_km.R
# Writes tests/sim/data/ipd_from_km/<case>_curve.csv and <case>_risk.csv (one case per dataset and
# reader) and tests/reference/sim/ipd_from_km.json.
#
# A reader clicks both corners of every step of the plotted curve, a few points along its long flat
# stretches, and its end; each click misses by a normal error of sd 0.5% of the time axis in time
# and 0.005 in survival (a careful reading of a published figure), so points come out of order and
# above one another. Times are held at >= 0, as a digitizer's axis calibration does. Two readers
# (seeds) per dataset, as Guyot's validation used several observers.
library(survival)
library(jsonlite)

datasets <- list(
  lung = {
    d <- survival::lung
    list(time = d$time, event = as.integer(d$status == 2), arm = ifelse(d$sex == 1, "Male", "Female"),
         arms = c("Male", "Female"), risk_step = 100, landmarks = c(180, 365, 730))
  },
  veteran = {
    d <- survival::veteran
    list(time = d$time, event = d$status, arm = ifelse(d$trt == 1, "standard", "test"),
         arms = c("standard", "test"), risk_step = 100, landmarks = c(90, 180, 365))
  },
  colon = {
    d <- subset(survival::colon, etype == 2 & rx %in% c("Obs", "Lev+5FU"))
    list(time = d$time, event = d$status, arm = as.character(d$rx),
         arms = c("Obs", "Lev+5FU"), risk_step = 365, landmarks = c(365, 1095, 1826))
  }
)

digitize <- function(fit, t_max, range, seed) {
  set.seed(seed)
  ev <- fit$n.event > 0
  tj <- fit$time[ev]
  sj <- fit$surv[ev]
  s_before <- c(1, head(sj, -1))
  t <- c(rbind(tj, tj))
  s <- c(rbind(s_before, sj))
  # points along flat stretches longer than 3% of the axis
  knots <- c(0, tj, t_max)
  levels <- c(1, sj)
  for (k in seq_along(levels)) {
    gap <- knots[k + 1] - knots[k]
    if (gap > 0.03 * range) {
      m <- min(4, floor(gap / (0.03 * range)))
      t <- c(t, knots[k] + gap * seq_len(m) / (m + 1))
      s <- c(s, rep(levels[k], m))
    }
  }
  t <- c(t, t_max)
  s <- c(s, tail(levels, 1))
  t <- pmax(t + rnorm(length(t), 0, 0.005 * range), 0)
  s <- s + rnorm(length(s), 0, 0.005)
  o <- sample(length(t))   # a digitizer's export is in click order, not time order
  data.frame(time = round(t[o], 3), survival = round(s[o], 4))
}

cases <- list()
dir.create("tests/sim/data/ipd_from_km", showWarnings = FALSE, recursive = TRUE)
seed <- 20120
for (name in names(datasets)) {
  ds <- datasets[[name]]
  range <- max(ds$time)
  risk_times <- seq(0, range, by = ds$risk_step)
  risk <- NULL
  arms <- list()
  fits <- list()
  for (a in ds$arms) {
    keep <- ds$arm == a
    fit <- survfit(Surv(ds$time[keep], ds$event[keep]) ~ 1)
    fits[[a]] <- fit
    sm <- summary(fit, times = ds$landmarks, extend = TRUE)
    nr <- summary(fit, times = risk_times, extend = TRUE)$n.risk
    risk <- rbind(risk, data.frame(arm = a, time = risk_times, n_risk = nr))
    med <- unname(quantile(fit, 0.5)$quantile)
    arms[[a]] <- list(n = sum(keep), events = sum(ds$event[keep]),
                      median = med,
                      landmarks = as.list(setNames(sm$surv, as.character(ds$landmarks))))
  }
  grp <- factor(ds$arm, levels = ds$arms)
  cx <- coxph(Surv(ds$time, ds$event) ~ grp, ties = "efron")
  lr <- survdiff(Surv(ds$time, ds$event) ~ grp)
  for (reader in 1:2) {
    seed <- seed + 1
    curve <- NULL
    for (a in ds$arms) {
      dg <- digitize(fits[[a]], max(ds$time[ds$arm == a]), range, seed * 10 + match(a, ds$arms))
      curve <- rbind(curve, data.frame(arm = a, dg))
    }
    case <- sprintf("%s_reader%d", name, reader)
    write.csv(curve, sprintf("tests/sim/data/ipd_from_km/%s_curve.csv", case), row.names = FALSE, quote = FALSE)
    write.csv(risk, sprintf("tests/sim/data/ipd_from_km/%s_risk.csv", case), row.names = FALSE, quote = FALSE)
    cases[[case]] <- list(
      dataset = name, reader = reader, seed = seed, arms = ds$arms, time_range = range,
      landmark_times = ds$landmarks, risk_times = risk_times,
      per_arm = arms,
      hr = unname(exp(coef(cx))), hr_ci = unname(exp(confint(cx))[1, ]),
      logrank_chisq = unname(lr$chisq), logrank_p = unname(1 - pchisq(lr$chisq, 1)),
      total_events = lapply(arms, function(x) x$events))
  }
}

out <- list(source = "validation/ipd_from_km.R", r_version = R.version.string,
            survival_version = as.character(packageVersion("survival")),
            noise = list(time_sd = "0.5% of the time axis", survival_sd = 0.005),
            cases = cases)
dir.create("tests/reference/sim", showWarnings = FALSE, recursive = TRUE)
writeLines(toJSON(out, auto_unbox = TRUE, digits = NA, pretty = TRUE, na = "null"), "tests/reference/sim/ipd_from_km.json")
cat("wrote", length(cases), "cases\n")
