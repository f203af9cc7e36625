#!/usr/bin/env Rscript
# Recompute the report's time-to-event figures with R survival from the ADaM an
# `oncotrial analyze` run wrote, and write them as JSON for tests/report to compare.
#
# Usage:
#   Rscript validation/report_check.R OUT/adam/adtte.csv OUT/adam/adsl.csv result.json \
#       [experimental_ARMCD=A] [control_ARMCD=B] [landmarks_months=48,60]
#
# Conventions, as the oncotrial analysis plan: times in months (AVAL days / 30.4375);
# event = CNSR == 0; KM CIs log-log; Cox ties Efron, stratified by every STRATwR column
# of ADSL (unstratified when there are none); log-rank stratified likewise (survdiff);
# median follow-up = reverse Kaplan-Meier median of OS.
suppressPackageStartupMessages({ library(survival); library(jsonlite) })

args <- commandArgs(trailingOnly = TRUE)
if (length(args) < 3) stop("usage: report_check.R ADTTE.csv ADSL.csv OUT.json [EXP] [CTL] [LANDMARKS]")
exp_arm <- if (length(args) >= 4) args[4] else "A"
ctl_arm <- if (length(args) >= 5) args[5] else "B"
landmarks <- if (length(args) >= 6) as.numeric(strsplit(args[6], ",")[[1]]) else c(48, 60)

adtte <- read.csv(args[1], stringsAsFactors = FALSE, na.strings = c("", "NA"))
adsl <- read.csv(args[2], stringsAsFactors = FALSE, na.strings = c("", "NA"))
adsl <- adsl[adsl$ARMCD %in% c(exp_arm, ctl_arm), ]
strata_cols <- sort(grep("^STRAT[0-9]+R$", names(adsl), value = TRUE))

num <- function(x) if (length(x) == 0 || is.na(x) || !is.finite(x)) NA else unname(x)

endpoint <- function(paramcd) {
  d <- adtte[adtte$PARAMCD == paramcd, c("USUBJID", "AVAL", "CNSR")]
  d <- merge(d, adsl[, c("USUBJID", "ARMCD", strata_cols), drop = FALSE], by = "USUBJID")
  d$time <- d$AVAL / 30.4375
  d$event <- as.integer(d$CNSR == 0)
  d$trt <- as.integer(d$ARMCD == exp_arm)
  arms <- list()
  for (a in c(exp_arm, ctl_arm)) {
    s <- d[d$ARMCD == a, ]
    fit <- survfit(Surv(time, event) ~ 1, data = s, conf.type = "log-log")
    q <- quantile(fit, probs = 0.5)
    sm <- summary(fit, times = landmarks, extend = TRUE)
    lm <- lapply(seq_along(landmarks), function(i) {
      ok <- landmarks[i] <= max(s$time) || min(fit$surv) == 0
      list(time = landmarks[i], surv = if (ok) num(sm$surv[i]) else NA,
           lower = if (ok) num(sm$lower[i]) else NA, upper = if (ok) num(sm$upper[i]) else NA)
    })
    arms[[a]] <- list(n = nrow(s), events = sum(s$event), median = num(q$quantile),
                      median_lower = num(q$lower), median_upper = num(q$upper), landmarks = lm)
  }
  strat <- if (length(strata_cols)) paste0(" + strata(", paste(strata_cols, collapse = ", "), ")") else ""
  cx <- coxph(as.formula(paste0("Surv(time, event) ~ trt", strat)), data = d, ties = "efron")
  ci <- exp(confint(cx))
  lr <- survdiff(as.formula(paste0("Surv(time, event) ~ ARMCD", strat)), data = d)
  list(n = nrow(d), events = sum(d$event), arms = arms,
       hr = num(exp(coef(cx))[["trt"]]), hr_lower = num(ci[1, 1]), hr_upper = num(ci[1, 2]),
       logrank_chisq = num(lr$chisq), logrank_p = num(pchisq(lr$chisq, df = 1, lower.tail = FALSE)),
       stratified = length(strata_cols) > 0)
}

out <- list(r_version = R.version.string, survival_version = as.character(packageVersion("survival")),
            experimental = exp_arm, control = ctl_arm, strata = strata_cols)
for (p in intersect(c("PFS", "OS"), unique(adtte$PARAMCD))) out[[p]] <- endpoint(p)
if ("OS" %in% adtte$PARAMCD) {
  d <- merge(adtte[adtte$PARAMCD == "OS", ], adsl[, "USUBJID", drop = FALSE], by = "USUBJID")
  fu <- survfit(Surv(AVAL / 30.4375, 1 - as.integer(CNSR == 0)) ~ 1, data = d, conf.type = "log-log")
  q <- quantile(fu, probs = 0.5)
  out$median_followup <- list(median = num(q$quantile), lower = num(q$lower), upper = num(q$upper))
}
writeLines(toJSON(out, auto_unbox = TRUE, digits = NA, na = "null", pretty = TRUE), args[3])
