# The "published" block of the bundled COLON protocol (src/oncotrial/protocols/colon.toml).
#
# Run from the repository root:   Rscript validation/colon_published.R
# The Intergroup 0035 trial of adjuvant levamisole and levamisole + fluorouracil after resection of
# stage C colon cancer (Moertel et al., N Engl J Med 1990;322:352-8; Laurie et al., J Clin Oncol
# 1989;7:1447-56) is the one trial whose patient-level data are public: R survival's `colon`. Its
# papers report relative risk reductions, not the per-arm figures this protocol needs, so the
# figures are computed here from those data, as a trial report would, and printed rounded as a
# report prints them (times in months of 30.4375 days, rates in percent): RFS = time to
# recurrence (etype 1), OS = death (etype 2); Kaplan-Meier medians with conf.type "log-log";
# Cox (Efron) hazard ratios and log-rank tests stratified by node4 (more than 4 positive nodes),
# each arm against observation on those two arms' patients.
suppressPackageStartupMessages({ library(survival); library(jsonlite) })

code <- c("Obs" = "OBS", "Lev" = "LEV", "Lev+5FU" = "LEV5FU")
month <- 30.4375
out <- list()
for (ep in c("rfs", "os")) {
  d <- colon[colon$etype == (if (ep == "os") 2 else 1), ]
  d$arm <- unname(code[as.character(d$rx)])
  d$t <- d$time / month
  per <- list()
  for (a in code) {
    da <- d[d$arm == a, ]
    f <- survfit(Surv(t, status) ~ 1, data = da, conf.type = "log-log")
    q <- quantile(f, 0.5)
    s <- summary(f, times = c(36, 60), extend = TRUE)
    per[[a]] <- list(n = nrow(da), events = sum(da$status), median = unname(q$quantile),
                     lower = unname(q$lower), upper = unname(q$upper),
                     rate36 = round(100 * s$surv[1], 1), rate60 = round(100 * s$surv[2], 1))
  }
  cmp <- list()
  for (e in c("LEV", "LEV5FU")) {
    dd <- d[d$arm %in% c(e, "OBS"), ]
    dd$trt <- as.numeric(dd$arm == e)
    fit <- coxph(Surv(t, status) ~ trt + strata(node4), data = dd, ties = "efron")
    ci <- exp(confint(fit))
    sd <- survdiff(Surv(t, status) ~ trt + strata(node4), data = dd)
    cmp[[e]] <- list(hr = round(exp(coef(fit))[[1]], 2), lower = round(ci[1], 2), upper = round(ci[2], 2),
                     p = signif(pchisq(sd$chisq, 1, lower.tail = FALSE), 2))
  }
  out[[ep]] <- list(arms = per, comparisons = cmp)
}
base <- colon[colon$etype == 2, ]
out$baseline <- list(age_median = median(base$age), female = round(100 * mean(base$sex == 0), 1),
                     node4 = round(100 * mean(base$node4 == 1, na.rm = TRUE), 1),
                     n = as.list(table(unname(code[as.character(base$rx)]))))
# follow-up: reverse Kaplan-Meier median of OS
fu <- survfit(Surv(time / month, 1 - status) ~ 1, data = base)
out$median_followup <- round(unname(quantile(fu, 0.5)$quantile), 1)
cat(toJSON(out, auto_unbox = TRUE, digits = NA, pretty = TRUE, na = "null"))
cat("\n")
