# Reference values for oncotrial.stats.binomial (base R only).
#
# Run from the repository root:   Rscript validation/binomial_reference.R
# Writes tests/reference/binomial.json.
#
# - Clopper-Pearson: binom.test(x, n)$conf.int
# - Wilson:          prop.test(x, n, correct = FALSE)$conf.int
# - Miettinen-Nurminen difference of proportions (Miettinen & Nurminen 1985,
#   Stat Med 4:213-226), unstratified and stratified with CMH weights. No R
#   package for it is in Debian (DescTools, ratesci, exact2x2 are not), so this
#   script checks it by brute force, independently of oncotrial's closed-form
#   cubic: the restricted MLE under p1 - p2 = delta by numerical maximisation of
#   the binomial likelihood (optimize), the score statistic with the N/(N-1)
#   variance factor, and the limits by scanning delta on a grid and refining
#   each sign change with uniroot.
# - Odds ratio: Woolf logit interval by hand; conditional MLE / exact interval /
#   p-value from fisher.test, and the same limits re-solved with a tight
#   tolerance (fisher.test's uniroot stops at ~1e-4).

suppressPackageStartupMessages(library(jsonlite))

out <- file.path("tests", "reference", "binomial.json")
z <- qnorm(0.975)

props <- list(c(0, 10), c(1, 10), c(7, 20), c(10, 10), c(33, 518), c(259, 518), c(1, 1), c(0, 1), c(3, 7))
single <- lapply(props, function(p) {
  cp <- binom.test(p[1], p[2])$conf.int
  wi <- suppressWarnings(prop.test(p[1], p[2], correct = FALSE)$conf.int)
  list(x = p[1], n = p[2], cp_lower = cp[1], cp_upper = cp[2], wilson_lower = wi[1], wilson_upper = wi[2])
})

restricted_var <- function(delta, x1, n1, x2, n2) {
  lo <- max(0, -delta); hi <- min(1, 1 - delta)
  ll <- function(p2) {
    p1 <- min(max(p2 + delta, 0), 1)
    dbinom(x1, n1, p1, log = TRUE) + dbinom(x2, n2, p2, log = TRUE)
  }
  p2 <- optimize(ll, c(lo, hi), maximum = TRUE, tol = 1e-15)$maximum
  p1 <- min(max(p2 + delta, 0), 1)
  N <- n1 + n2
  (p1 * (1 - p1) / n1 + p2 * (1 - p2) / n2) * N / (N - 1)
}

mn_stat <- function(delta, x1, n1, x2, n2) {
  w <- n1 * n2 / (n1 + n2); w <- w / sum(w)
  dhat <- sum(w * (x1 / n1 - x2 / n2))
  v <- mapply(function(a, b, c, d) restricted_var(delta, a, b, c, d), x1, n1, x2, n2)
  den <- sqrt(sum(w^2 * v))
  if (den == 0) return(if (dhat == delta) 0 else sign(dhat - delta) * Inf)
  (dhat - delta) / den
}

mn_ci <- function(x1, n1, x2, n2) {
  keep <- n1 > 0 & n2 > 0
  x1 <- x1[keep]; n1 <- n1[keep]; x2 <- x2[keep]; n2 <- n2[keep]
  w <- n1 * n2 / (n1 + n2); w <- w / sum(w)
  dhat <- sum(w * (x1 / n1 - x2 / n2))
  f <- function(d) mn_stat(d, x1, n1, x2, n2)
  grid <- seq(-1 + 1e-9, 1 - 1e-9, length.out = 2001)
  lower_grid <- grid[grid < dhat]
  upper_grid <- grid[grid > dhat]
  find <- function(g, target, edge) {
    if (length(g) == 0) return(edge)
    vals <- sapply(g, function(d) f(d) - target)
    s <- which(diff(sign(vals)) != 0)
    if (length(s) == 0) return(edge)
    i <- if (target > 0) max(s) else min(s)
    uniroot(function(d) f(d) - target, c(g[i], g[i + 1]), tol = 1e-14)$root
  }
  lower <- find(c(lower_grid, dhat), z, -1)
  upper <- find(c(dhat, upper_grid), -z, 1)
  t0 <- f(0)
  list(estimate = dhat, lower = lower, upper = upper, p_value = 2 * pnorm(-abs(t0)))
}

diffs <- list(
  list(x1 = 30, n1 = 50, x2 = 20, n2 = 50),
  list(x1 = 0, n1 = 20, x2 = 0, n2 = 20),
  list(x1 = 0, n1 = 15, x2 = 5, n2 = 15),
  list(x1 = 15, n1 = 15, x2 = 10, n2 = 15),
  list(x1 = 1, n1 = 30, x2 = 2, n2 = 25),
  list(x1 = 120, n1 = 259, x2 = 90, n2 = 259),
  list(x1 = c(10, 5, 12), n1 = c(20, 15, 30), x2 = c(6, 4, 7), n2 = c(22, 14, 28)),
  list(x1 = c(10, 5, 0), n1 = c(20, 15, 0), x2 = c(6, 4, 3), n2 = c(22, 14, 5)),
  list(x1 = c(40, 30, 25, 18), n1 = c(70, 60, 65, 62), x2 = c(30, 22, 20, 9), n2 = c(68, 63, 66, 61))
)
diff_res <- lapply(diffs, function(d) c(d, mn_ci(d$x1, d$n1, d$x2, d$n2)))

fisher_tight <- function(a, b, c, d, alpha = 0.025) {
  m <- a + c; n <- b + d; k <- a + b
  lo <- max(0, k - n); hi <- min(k, m); support <- lo:hi
  logdc <- dhyper(support, m, n, k, log = TRUE)
  dnhyper <- function(ncp) { d <- logdc + log(ncp) * support; d <- exp(d - max(d)); d / sum(d) }
  mnhyper <- function(ncp) sum(support * dnhyper(ncp))
  pup <- function(ncp) sum(dnhyper(ncp)[support >= a])
  plo <- function(ncp) sum(dnhyper(ncp)[support <= a])
  est <- if (a == lo) 0 else if (a == hi) Inf else
    exp(uniroot(function(t) mnhyper(exp(t)) - a, c(-50, 50), tol = 1e-13)$root)
  lower <- if (a == lo) 0 else exp(uniroot(function(t) pup(exp(t)) - alpha, c(-50, 50), tol = 1e-13)$root)
  upper <- if (a == hi) Inf else exp(uniroot(function(t) plo(exp(t)) - alpha, c(-50, 50), tol = 1e-13)$root)
  list(estimate = est, lower = lower, upper = upper)
}

ors <- list(c(30, 50, 20, 50), c(5, 40, 1, 38), c(12, 20, 12, 20), c(88, 259, 60, 259), c(0, 10, 4, 10))
or_res <- lapply(ors, function(o) {
  a <- o[1]; b <- o[2] - o[1]; c <- o[3]; d <- o[4] - o[3]
  ft <- fisher.test(matrix(c(a, c, b, d), 2))
  tight <- fisher_tight(a, b, c, d)
  woolf <- if (min(a, b, c, d) == 0) list(estimate = NA, lower = NA, upper = NA, p_value = NA) else {
    lor <- log(a * d / (b * c)); se <- sqrt(1 / a + 1 / b + 1 / c + 1 / d)
    list(estimate = exp(lor), lower = exp(lor - z * se), upper = exp(lor + z * se),
         p_value = 2 * pnorm(-abs(lor / se)))
  }
  list(x1 = o[1], n1 = o[2], x2 = o[3], n2 = o[4], woolf = woolf,
       fisher = list(estimate = unname(ft$estimate), lower = ft$conf.int[1], upper = ft$conf.int[2],
                     p_value = ft$p.value),
       fisher_tight = tight)
})

write_json(list(single = single, prop_diff = diff_res, odds_ratio = or_res), out,
           digits = NA, na = "null", auto_unbox = TRUE)
cat("wrote", out, "\n")
