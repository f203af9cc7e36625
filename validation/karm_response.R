# Reference values for run_analysis on a three-arm trial (tests/analysis/test_karm_run_analysis.py).
#
# Run from the repository root:   Rscript validation/karm_response.R
# Uses the colon rows that validation/karm_survival.R stored in tests/reference/analysis/karm_colon.json
# (R survival::colon; arms OBS = control, LEV, LEV5FU) and writes tests/reference/analysis/karm_colon_run.json:
# - a response made from those rows by a fixed rule (the test builds its ADRS by the same rule):
#   ORR responder: rfs_status == 0 or rfs_time > 730.5;  CBR: rfs_time > 365.25;
#   per arm n, responders and the exact Clopper-Pearson CI (binom.test); per comparison (each arm vs OBS)
#   the Miettinen-Nurminen difference CI, by the brute-force implementation of validation/binomial_reference.R
#   (its functions are evaluated from that file, not copied);
# - subgroup Cox HRs (efron, unstratified) for RFS within each node4 level, fitted on the two arms' patients.
suppressPackageStartupMessages({ library(survival); library(jsonlite) })

ref_dir <- file.path("tests", "reference", "analysis")
rows <- as.data.frame(fromJSON(file.path(ref_dir, "karm_colon.json"))$rows)

# The Miettinen-Nurminen functions of binomial_reference.R (restricted_var, mn_stat, mn_ci) without running
# that script, which would rewrite its own reference file.
for (e in parse(file.path("validation", "binomial_reference.R"))) {
  if (is.call(e) && identical(e[[1]], as.name("<-")) && is.call(e[[3]]) && identical(e[[3]][[1]], as.name("function")))
    eval(e)
}
z <- qnorm(0.975)

arms <- c("OBS", "LEV", "LEV5FU")
rate <- function(resp) {
  per <- list()
  for (a in arms) {
    x <- sum(resp[rows$rx == a]); n <- sum(rows$rx == a)
    ci <- binom.test(x, n, conf.level = 0.95)$conf.int
    per[[a]] <- list(n = n, responders = x, rate = x / n, lower = ci[1], upper = ci[2])
  }
  cmp <- list()
  for (e in c("LEV", "LEV5FU")) {
    r <- mn_ci(per[[e]]$responders, per[[e]]$n, per$OBS$responders, per$OBS$n)
    cmp[[e]] <- list(difference = r$estimate, lower = r$lower, upper = r$upper)
  }
  list(arms = per, comparisons = cmp)
}

subgroup <- list()
for (e in c("LEV", "LEV5FU")) {
  levels <- list()
  for (lv in c(0, 1)) {
    d <- rows[rows$rx %in% c(e, "OBS") & rows$node4 == lv, ]
    d$trt <- as.numeric(d$rx == e)
    f <- coxph(Surv(rfs_time, rfs_status) ~ trt, data = d, ties = "efron")
    ci <- exp(confint(f, level = 0.95))
    levels[[as.character(lv)]] <- list(n = nrow(d), hr = unname(exp(coef(f))), hr_lower = ci[1, 1], hr_upper = ci[1, 2])
  }
  subgroup[[e]] <- levels
}

out <- list(
  source = "R survival::colon rows of karm_colon.json; responses by the rule in validation/karm_response.R",
  r_version = R.version.string, survival_version = as.character(packageVersion("survival")),
  ORR = rate(rows$rfs_status == 0 | rows$rfs_time > 730.5),
  CBR = rate(rows$rfs_time > 365.25),
  subgroups_rfs_node4 = subgroup)
path <- file.path(ref_dir, "karm_colon_run.json")
write_json(out, path, digits = NA, na = "null", auto_unbox = TRUE, pretty = TRUE)
cat("wrote", path, "\n")
