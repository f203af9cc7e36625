# Reference values for oncotrial.stats' timefix (R survival's aeqSurv), timefix = TRUE and FALSE.
#
# Run from the repository root:   Rscript validation/survival_timefix.R
# Builds a seeded data set whose times are equal only up to floating-point error
# (day counts converted to months along different arithmetic paths, sums of
# decimals, and deliberate perturbations just below and just above aeqSurv's
# tolerance, including a chain of sub-tolerance steps), writes it to
# tests/reference/data/timefix.csv with 17 significant digits (so Python reads
# the very same doubles), re-reads it, and writes survfit / survdiff / coxph /
# rmean results with timefix = TRUE (R's default) and timefix = FALSE to
# tests/reference/survival_timefix.json. NA is written as null.

suppressPackageStartupMessages({
  library(survival)
  library(jsonlite)
})

root <- normalizePath(".")
data_path <- file.path(root, "tests", "reference", "data", "timefix.csv")
out_path <- file.path(root, "tests", "reference", "survival_timefix.json")
num <- function(x) { x <- as.numeric(x); x[!is.finite(x)] <- NA; x }

set.seed(20261125)
n_base <- 90
days <- sample(20:900, n_base, replace = TRUE)
# the same day count converted along three arithmetic paths: equal up to rounding only
path <- sample(1:3, n_base, replace = TRUE)
months <- ifelse(path == 1, days / 30.4375, ifelse(path == 2, days * 12 / 365.25, (days / 365.25) * 12))
# sums of decimals: k tenths summed one by one against k / 10 (0.1 + 0.2 vs 0.3, ...)
k <- c(3, 3, 7, 7, 11, 11, 13, 13, 29, 29)
tenths <- ifelse(seq_along(k) %% 2 == 1, sapply(k, function(j) sum(rep(0.1, j))), k / 10)
base <- c(months, tenths)
tol <- sqrt(.Machine$double.eps)
scale <- tol * mean(unique(base))  # aeqSurv's relative tolerance in time units (approximately)
anchors <- sort(sample(unique(round(base, 6)), 6))
# below (0.3 x) and above (4 x) the tolerance, and a chain of 0.7 x steps (3 steps, 2.1 x in all)
perturbed <- c(anchors[1:2] + 0.3 * scale, anchors[3:4] + 4 * scale,
               anchors[5] + 0.7 * scale * (1:3), anchors[6] - 0.3 * scale)
time <- c(base, anchors, perturbed)
n <- length(time)
d <- data.frame(
  time = time,
  event = rbinom(n, 1, 0.65),
  arm = sample(c("A", "B"), n, replace = TRUE),
  stratum = sample(c("S1", "S2"), n, replace = TRUE),
  x1 = round(rnorm(n), 3)
)
write.csv(transform(d, time = sprintf("%.17g", time)), data_path, row.names = FALSE, quote = FALSE)
d <- read.csv(data_path, stringsAsFactors = FALSE)
stopifnot(identical(d$time, time))

km_one <- function(dd, tf) {
  f <- survfit(Surv(time, event) ~ 1, data = dd, conf.type = "log-log", timefix = tf)
  q <- quantile(f, 0.5)
  list(table = list(time = f$time, n_risk = f$n.risk, n_event = f$n.event, n_censor = f$n.censor,
                    surv = f$surv, std_err = num(f$surv * f$std.err),
                    lower = num(f$lower), upper = num(f$upper)),
       median = num(q$quantile), lower = num(q$lower), upper = num(q$upper))
}

# survdiff(timefix = FALSE) fails in survival 3.5.3: survdiff passes `timefix` on to
# model.frame as if it were a variable ("variable lengths differ (found for '(timefix)')").
# So call survdiff's own fitting routine on the (optionally aeqSurv-merged) times and form
# the chi-square as survdiff does; for timefix = TRUE this is checked against survdiff itself.
sd_block <- function(tf, stratified, rho) {
  y <- Surv(d$time, d$event)
  if (tf) y <- aeqSurv(y)
  strat <- if (stratified) d$stratum else rep(1, nrow(d))
  fit <- survival:::survdiff.fit(y, factor(d$arm), strat, rho)
  o <- if (is.matrix(fit$observed)) rowSums(fit$observed) else fit$observed
  e <- if (is.matrix(fit$expected)) rowSums(fit$expected) else fit$expected
  dd <- (o - e)[-1]
  chisq <- sum(solve(fit$var[-1, -1, drop = FALSE], dd) * dd)
  if (tf) {
    f <- if (stratified) Surv(time, event) ~ arm + strata(stratum) else Surv(time, event) ~ arm
    ref <- survdiff(f, data = d, rho = rho)
    stopifnot(isTRUE(all.equal(chisq, ref$chisq, tolerance = 1e-12)))
  }
  list(observed = num(o), expected = num(e), chisq = num(chisq),
       p_value = num(pchisq(chisq, 1, lower.tail = FALSE)))
}

cox_one <- function(formula, ties, tf) {
  fit <- coxph(formula, data = d, ties = ties,
               control = coxph.control(eps = 1e-12, toler.chol = 1e-15, iter.max = 50, timefix = tf))
  zph <- cox.zph(fit, transform = "km")
  list(names = names(coef(fit)), coef = num(coef(fit)), se = num(sqrt(diag(fit$var))),
       loglik = num(fit$loglik), score_test = num(fit$score),
       zph_chisq = num(zph$table[, "chisq"]))
}

one_setting <- function(tf) {
  km <- list(ALL = km_one(d, tf))
  for (g in c("A", "B")) km[[g]] <- km_one(d[d$arm == g, ], tf)
  fu <- quantile(survfit(Surv(time, 1 - event) ~ 1, data = d, conf.type = "log-log", timefix = tf), 0.5)
  tau <- 0.8 * min(tapply(d$time, d$arm, max))
  rm <- lapply(c(A = "A", B = "B"), function(g) {
    tb <- summary(survfit(Surv(time, event) ~ 1, data = d[d$arm == g, ], timefix = tf), rmean = tau)$table
    list(estimate = num(tb[["rmean"]]), se = num(tb[["se(rmean)"]]))
  })
  list(
    n_distinct = length(unique(survfit(Surv(time, event) ~ 1, data = d, timefix = tf)$time)),
    km = km,
    followup = list(median = num(fu$quantile), lower = num(fu$lower), upper = num(fu$upper)),
    logrank = list(
      plain = sd_block(tf, FALSE, 0),
      strata = sd_block(tf, TRUE, 0),
      rho1 = sd_block(tf, FALSE, 1)
    ),
    cox = list(
      efron = cox_one(Surv(time, event) ~ arm + x1, "efron", tf),
      breslow = cox_one(Surv(time, event) ~ arm + x1, "breslow", tf),
      efron_strata = cox_one(Surv(time, event) ~ arm + x1 + strata(stratum), "efron", tf)
    ),
    rmst = list(tau = tau, per_group = rm)
  )
}

out <- list(n = nrow(d), n_unique_exact = length(unique(d$time)),
            timefix = one_setting(TRUE), no_timefix = one_setting(FALSE))
write_json(out, out_path, digits = NA, na = "null", auto_unbox = TRUE, null = "null")
cat("timefix:", nrow(d), "rows,", out$n_unique_exact, "exact distinct times,",
    out$timefix$n_distinct, "after aeqSurv ->", out_path, "\n")
