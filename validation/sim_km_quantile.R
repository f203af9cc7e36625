# Reference values for tests/sim: KM median and its log-log CI (quantile.survfit) for a
# reconstructed PFS arm whose upper confidence band rises back above 0.5 after crossing it.
# Run from the repository root:  Rscript validation/sim_km_quantile.R
library(survival)
d <- read.csv("tests/sim/data/km_upper_ci_case.csv")
f <- survfit(Surv(t, e) ~ 1, data = d, conf.type = "log-log")
q <- quantile(f, 0.5)
out <- sprintf('{"median": %.10f, "lower": %.10f, "upper": %.10f, "r_version": "%s", "survival_version": "%s"}\n',
               q$quantile, q$lower, q$upper, R.version.string, as.character(packageVersion("survival")))
dir.create("tests/reference/sim", showWarnings = FALSE, recursive = TRUE)
cat(out, file = "tests/reference/sim/km_upper_ci_case.json")
cat(out)
