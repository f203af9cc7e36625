# Reference values for oncotrial.stats from R survival (Debian r-base-core r-cran-survival).
#
# Run from the repository root:   Rscript validation/survival_reference.R
# Reads the seeded data sets in tests/reference/data/*.csv (written by
# validation/make_datasets.py) and, where present, the pharmaverse ADTTE in
# ../shared/data/pharmaverse/adam/adtte_onco.csv; writes one JSON file per data
# set to tests/reference/survival_<name>.json. The Python tests compare with
# these values, so they run without R. NA is written as null.
#
# What is computed, per data set (group = arm, strata = stratum):
#   km        survfit per arm, conf.type log-log / log / plain: the full table,
#             quantile.survfit at 0.25/0.5/0.75 with CI, summary(times=) rows
#   followup  reverse KM (Surv(time, 1 - event)) median with CI
#   logrank   survdiff: plain, stratified, rho = 1, and stratum as the group
#   cox       coxph efron/breslow, with and without strata(), robust = TRUE;
#             coef, se, loglik, the three global tests, cox.zph (transform "km")
#   rmst      restricted mean by print.survfit(rmean = tau), i.e. the area under
#             the KM curve with survRM2's variance; difference between arms

suppressPackageStartupMessages({
  library(survival)
  library(jsonlite)
})

root <- normalizePath(".")
data_dir <- file.path(root, "tests", "reference", "data")
out_dir <- file.path(root, "tests", "reference")
adtte_path <- file.path(root, "..", "shared", "data", "pharmaverse", "adam", "adtte_onco.csv")

num <- function(x) { x <- as.numeric(x); x[!is.finite(x)] <- NA; x }

km_block <- function(d) {
  res <- list()
  for (ct in c("log-log", "log", "plain")) {
    per <- list()
    for (g in c("ALL", sort(unique(as.character(d$group))))) {
      dd <- if (g == "ALL") d else d[d$group == g, ]
      f <- survfit(Surv(time, event) ~ 1, data = dd, conf.type = ct)
      q <- quantile(f, c(0.25, 0.5, 0.75))
      at <- unname(quantile(dd$time, c(0, 0.1, 0.33, 0.5, 0.9)))
      at <- c(0, at, max(dd$time))
      s <- summary(f, times = at, extend = TRUE)
      per[[g]] <- list(
        table = list(time = f$time, n_risk = f$n.risk, n_event = f$n.event,
                     n_censor = f$n.censor, surv = f$surv,
                     std_err = num(f$surv * f$std.err),
                     lower = num(f$lower), upper = num(f$upper)),
        quantile = list(p = c(0.25, 0.5, 0.75), time = num(q$quantile),
                        lower = num(q$lower), upper = num(q$upper)),
        survival_at = list(time = at, surv = num(s$surv), lower = num(s$lower),
                           upper = num(s$upper), n_risk = s$n.risk)
      )
    }
    res[[ct]] <- per
  }
  res
}

followup_block <- function(d) {
  f <- survfit(Surv(time, 1 - event) ~ 1, data = d, conf.type = "log-log")
  q <- quantile(f, 0.5)
  list(median = num(q$quantile), lower = num(q$lower), upper = num(q$upper))
}

survdiff_block <- function(fit) {
  o <- if (is.matrix(fit$obs)) rowSums(fit$obs) else fit$obs
  e <- if (is.matrix(fit$exp)) rowSums(fit$exp) else fit$exp
  df <- sum(e > 0) - 1
  list(groups = sub("^[^=]*=", "", names(fit$n)), observed = num(o), expected = num(e),
       var = unname(fit$var), chisq = if (df >= 1) num(fit$chisq) else NA,
       df = df, p_value = if (df >= 1) num(fit$pvalue) else NA)
}

logrank_block <- function(d) {
  out <- list(
    plain = survdiff(Surv(time, event) ~ group, data = d),
    rho1 = survdiff(Surv(time, event) ~ group, data = d, rho = 1)
  )
  if (length(unique(d$stratum)) > 1) {
    out$strata <- survdiff(Surv(time, event) ~ group + strata(stratum), data = d)
    out$strata_rho05 <- survdiff(Surv(time, event) ~ group + strata(stratum), data = d, rho = 0.5)
    out$by_stratum <- survdiff(Surv(time, event) ~ stratum, data = d)
  }
  lapply(out, survdiff_block)
}

cox_one <- function(formula, d, ties, robust) {
  fit <- tryCatch(coxph(formula, data = d, ties = ties, robust = robust,
                        control = coxph.control(eps = 1e-12, toler.chol = 1e-15, iter.max = 50)),
                  error = function(e) NULL, warning = function(w) NULL)
  if (is.null(fit)) return(NULL)
  zph <- tryCatch(cox.zph(fit, transform = "km"), error = function(e) NULL)
  s <- summary(fit)
  res <- list(
    names = names(coef(fit)), coef = num(coef(fit)),
    se = num(sqrt(diag(fit$var))),
    naive_se = if (robust) num(sqrt(diag(fit$naive.var))) else num(sqrt(diag(fit$var))),
    hr_lower = num(s$conf.int[, "lower .95"]), hr_upper = num(s$conf.int[, "upper .95"]),
    p_value = num(s$coefficients[, ncol(s$coefficients)]),
    loglik = num(fit$loglik),
    # summary.coxph rounds the Wald statistic, so take the tests from the fit itself
    lr_test = num(2 * (fit$loglik[2] - fit$loglik[1])), score_test = num(fit$score),
    wald_test = num(fit$wald.test),
    robust_score = if (robust) num(fit$rscore) else NULL,
    n = fit$n, n_events = fit$nevent
  )
  if (!is.null(zph)) {
    res$zph <- list(terms = rownames(zph$table), chisq = num(zph$table[, "chisq"]),
                    df = num(zph$table[, "df"]), p = num(zph$table[, "p"]))
  }
  res
}

cox_block <- function(d, covs) {
  rhs <- paste(covs, collapse = " + ")
  f0 <- as.formula(paste("Surv(time, event) ~", rhs))
  out <- list(covariates = covs)
  out$efron <- cox_one(f0, d, "efron", FALSE)
  out$breslow <- cox_one(f0, d, "breslow", FALSE)
  out$efron_robust <- cox_one(f0, d, "efron", TRUE)
  if (length(unique(d$stratum)) > 1) {
    fs <- as.formula(paste("Surv(time, event) ~", rhs, "+ strata(stratum)"))
    out$efron_strata <- cox_one(fs, d, "efron", FALSE)
    out$breslow_strata <- cox_one(fs, d, "breslow", FALSE)
    out$efron_strata_robust <- cox_one(fs, d, "efron", TRUE)
  }
  out
}

rmst_block <- function(d) {
  groups <- sort(unique(as.character(d$group)))
  if (length(groups) < 1 || sum(d$event) == 0) return(NULL)
  tau <- 0.8 * min(tapply(d$time, d$group, max))
  per <- list()
  for (g in groups) {
    f <- survfit(Surv(time, event) ~ 1, data = d[d$group == g, ])
    tb <- summary(f, rmean = tau)$table
    per[[g]] <- list(estimate = num(tb[["rmean"]]), se = num(tb[["se(rmean)"]]))
  }
  res <- list(tau = tau, groups = groups, per_group = per)
  if (length(groups) == 2) {
    a <- per[[groups[1]]]; b <- per[[groups[2]]]
    est <- b$estimate - a$estimate
    se <- sqrt(a$se^2 + b$se^2)
    res$diff <- list(estimate = est, se = se, lower = est - qnorm(0.975) * se,
                     upper = est + qnorm(0.975) * se,
                     p_value = 2 * pnorm(-abs(est / se)))
  }
  res
}

reference <- function(name, d, covs) {
  d$group <- d$arm
  out <- list(
    name = name, n = nrow(d), n_events = sum(d$event),
    km = km_block(d), followup = followup_block(d),
    logrank = logrank_block(d), cox = cox_block(d, covs), rmst = rmst_block(d)
  )
  path <- file.path(out_dir, paste0("survival_", name, ".json"))
  write_json(out, path, digits = NA, na = "null", auto_unbox = TRUE, null = "null")
  cat(name, ":", nrow(d), "rows ->", path, "\n")
}

sets <- list(
  ties = c("arm", "x1", "x2", "x3"),
  strata = c("arm", "x1", "x2", "x3"),
  onearm = c("arm", "x1", "x2", "x3"),
  allcens = c("arm", "x1", "x2", "x3"),
  single = c("x2"),
  large = c("arm", "x1", "x2", "x3")
)
for (name in names(sets)) {
  d <- read.csv(file.path(data_dir, paste0(name, ".csv")), stringsAsFactors = FALSE)
  reference(name, d, sets[[name]])
}

if (file.exists(adtte_path)) {
  adtte <- read.csv(adtte_path, stringsAsFactors = FALSE)
  for (param in c("PFS", "OS")) {
    a <- adtte[adtte$PARAMCD == param, ]
    d <- data.frame(time = a$AVAL, event = 1 - a$CNSR, arm = a$ARM, stratum = a$SEX,
                    AGE = a$AGE, SEX = a$SEX, stringsAsFactors = FALSE)
    # OS has no death in one arm, so its arm coefficient is infinite: use age and sex there
    covs <- if (param == "PFS") c("arm", "AGE") else c("AGE", "SEX")
    reference(paste0("adtte_", tolower(param)), d, covs)
  }
} else {
  cat("pharmaverse ADTTE not found at", adtte_path, "- its reference is not refreshed\n")
}
