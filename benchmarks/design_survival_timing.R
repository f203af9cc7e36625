# Time R survival on simulated PATINA replicates (called by benchmarks/design_simulate.py).
# Usage: Rscript benchmarks/design_survival_timing.R IN.csv OUT.json
# For every replicate: stratified log-rank (survdiff), stratified Cox with Efron ties
# (coxph) and Kaplan-Meier medians per arm (survfit) -- the analyses of the batched simulator.
suppressPackageStartupMessages({
  library(survival)
  library(jsonlite)
})
args <- commandArgs(trailingOnly = TRUE)
d <- read.csv(args[1])
reps <- split(d, d$replicate)
analyse <- function(x) {
  sd <- survdiff(Surv(AVAL, EVENT) ~ TRT01PN + strata(STRATUM), data = x)
  fit <- coxph(Surv(AVAL, EVENT) ~ TRT01PN + strata(STRATUM), data = x, ties = "efron")
  km <- survfit(Surv(AVAL, EVENT) ~ TRT01PN, data = x)
  med <- summary(km)$table[, "median"]
  c(replicate = x$replicate[1], z = sum(sd$obs[2, ] - sd$exp[2, ]) / sqrt(sd$var[2, 2]),
    log_hr = unname(coef(fit)), median_control = unname(med[1]), median_experimental = unname(med[2]))
}
invisible(analyse(reps[[1]]))  # warm-up (byte compilation, method dispatch)
t0 <- proc.time()
res <- lapply(reps, analyse)
t1 <- proc.time() - t0
out <- list(n = length(reps), seconds = t1[["elapsed"]], cpu_seconds = t1[["user.self"]] + t1[["sys.self"]], survival = as.character(packageVersion("survival")),
            r = R.version.string, results = as.data.frame(do.call(rbind, res)))
write_json(out, args[2], digits = NA, auto_unbox = TRUE)
