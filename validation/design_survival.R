# Reference analyses of simulated replicates with R survival (see design_sim_reference.py).
# Run from the repository root:  Rscript validation/design_survival.R
suppressPackageStartupMessages({
  library(survival)
  library(jsonlite)
})
dir <- file.path("tests", "reference", "design")
out <- list()
for (look in 1:2) {
  d <- read.csv(file.path(dir, sprintf("sim_look%d.csv", look)))
  for (i in sort(unique(d$replicate))) {
    x <- d[d$replicate == i, ]
    x$trt <- factor(x$TRT01PN, levels = c(0, 1))
    sd <- survdiff(Surv(AVAL, EVENT) ~ trt + strata(STRATUM), data = x)
    fit <- coxph(Surv(AVAL, EVENT) ~ TRT01PN + strata(STRATUM), data = x, ties = "efron",
                 control = coxph.control(eps = 1e-12, toler.chol = 1e-14, iter.max = 50))
    km <- survfit(Surv(AVAL, EVENT) ~ trt, data = x)
    med <- summary(km)$table[, "median"]
    out[[length(out) + 1]] <- list(
      replicate = i, look = look, n = nrow(x), events = sum(x$EVENT),
      observed_minus_expected = sum(sd$obs[2, ] - sd$exp[2, ]),  # obs, exp: group x stratum
      variance = unname(sd$var[2, 2]),
      log_hr = unname(coef(fit)), se_log_hr = unname(sqrt(vcov(fit)[1, 1])),
      median_control = unname(med[1]), median_experimental = unname(med[2])
    )
  }
}
write_json(out, file.path(dir, "sim_survival.json"), digits = NA, auto_unbox = TRUE, pretty = TRUE)
cat("survival", as.character(packageVersion("survival")), "reference analyses written\n")
