# Reference values for the k-arm time-to-event analysis (oncotrial.analysis.analyze_time_to_event).
#
# Run from the repository root:   Rscript validation/karm_survival.R
# R survival's colon data (three arms: Obs, Lev, Lev+5FU; control Obs); etype 2 = death (OS),
# etype 1 = recurrence (RFS). Writes tests/reference/analysis/karm_colon.json with the rows
# used (so the Python test needs no R) and, per endpoint: per-arm KM median and CI
# (conf.type "log" and "log-log", 0.95), and per comparison (each arm vs Obs, fitted on the
# patients of those two arms only) coxph efron HR and CI, unstratified and strata(node4),
# and survdiff chi-square, p and the experimental arm's (O - E) / sqrt(V), likewise.
suppressPackageStartupMessages({ library(survival); library(jsonlite) })

num <- function(x) { x <- as.numeric(x); x[!is.finite(x)] <- NA; x }
code <- c("Obs" = "OBS", "Lev" = "LEV", "Lev+5FU" = "LEV5FU")
os <- colon[colon$etype == 2, ]
rfs <- colon[colon$etype == 1, ]
stopifnot(identical(os$id, rfs$id), !anyNA(os$node4))
rows <- data.frame(id = os$id, rx = unname(code[as.character(os$rx)]), node4 = os$node4,
                   os_time = os$time, os_status = os$status,
                   rfs_time = rfs$time[match(os$id, rfs$id)], rfs_status = rfs$status[match(os$id, rfs$id)])

endpoint <- function(d) {
  d$arm <- unname(code[as.character(d$rx)])
  km <- list()
  for (ct in c("log", "log-log")) {
    per <- list()
    for (a in code) {
      f <- survfit(Surv(time, status) ~ 1, data = d[d$arm == a, ], conf.type = ct, conf.int = 0.95)
      q <- quantile(f, 0.5)
      s <- summary(f, times = c(365.25, 730.5), extend = TRUE)
      per[[a]] <- list(n = nrow(d[d$arm == a, ]), events = sum(d$status[d$arm == a]),
                       median = num(q$quantile), lower = num(q$lower), upper = num(q$upper),
                       landmark_time = s$time, landmark_surv = num(s$surv),
                       landmark_lower = num(s$lower), landmark_upper = num(s$upper))
    }
    km[[ct]] <- per
  }
  cmp <- list()
  for (e in c("LEV", "LEV5FU")) {
    dd <- d[d$arm %in% c(e, "OBS"), ]
    dd$trt <- as.numeric(dd$arm == e)
    one <- function(fit_cox, fit_lr) {
      ci <- exp(confint(fit_cox, level = 0.95))
      o <- if (is.matrix(fit_lr$obs)) rowSums(fit_lr$obs) else fit_lr$obs
      ex <- if (is.matrix(fit_lr$exp)) rowSums(fit_lr$exp) else fit_lr$exp
      i <- which(sub("^[^=]*=", "", names(fit_lr$n)) == "1")
      list(hr = unname(exp(coef(fit_cox))), hr_lower = ci[1, 1], hr_upper = ci[1, 2],
           chisq = fit_lr$chisq, p = fit_lr$pvalue, z = unname((o[i] - ex[i]) / sqrt(fit_lr$var[i, i])))
    }
    cmp[[e]] <- list(
      n = nrow(dd), events = sum(dd$status),
      plain = one(coxph(Surv(time, status) ~ trt, data = dd, ties = "efron"),
                  survdiff(Surv(time, status) ~ trt, data = dd)),
      strata = one(coxph(Surv(time, status) ~ trt + strata(node4), data = dd, ties = "efron"),
                   survdiff(Surv(time, status) ~ trt + strata(node4), data = dd)))
  }
  list(km = km, comparisons = cmp)
}

out <- list(
  source = "R survival::colon; control Obs; comparisons fitted on the two arms' patients only",
  r_version = R.version.string, survival_version = as.character(packageVersion("survival")),
  rows = rows,
  OS = endpoint(data.frame(rx = os$rx, node4 = os$node4, time = os$time, status = os$status)),
  RFS = endpoint(data.frame(rx = rfs$rx, node4 = rfs$node4, time = rfs$time, status = rfs$status)))
dir.create(file.path("tests", "reference", "analysis"), showWarnings = FALSE, recursive = TRUE)
writeLines(toJSON(out, digits = NA, auto_unbox = TRUE, na = "null", dataframe = "columns", pretty = TRUE),
           file.path("tests", "reference", "analysis", "karm_colon.json"))
