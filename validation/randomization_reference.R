# Reference values for oncotrial.randomization, computed independently in base R.
# Run from the repository root:  Rscript validation/randomization_reference.R
# Writes tests/reference/randomization/{minimization_scores,block_imbalance}.json
#
# 1. Pocock-Simon minimization scores G_k (Pocock & Simon 1975), written from the
#    paper's definition: for each factor, the arm counts among earlier patients who
#    share the new patient's level, the new patient added to arm k, counts divided by
#    the allocation ratio, spread measured by the range or the population variance,
#    then the weighted sum over factors. Random histories, two designs.
# 2. The exact distribution of |n_A/r_A - n_B/r_B| after n patients of one stratum
#    randomized in permuted blocks whose sizes are drawn at random, by a renewal
#    argument over block starts and a hypergeometric draw within the block in progress.
suppressPackageStartupMessages(library(jsonlite))
out_dir <- file.path("tests", "reference", "randomization")
dir.create(out_dir, recursive = TRUE, showWarnings = FALSE)
set.seed(20261125)

ps_scores <- function(hist_levels, hist_arm, new_levels, arms, ratio, weights, kind) {
  K <- length(arms)
  G <- numeric(K)
  for (k in seq_len(K)) {
    for (f in seq_along(new_levels)) {
      same <- hist_levels[, f] == new_levels[f]
      x <- vapply(arms, function(a) sum(hist_arm[same] == a), numeric(1))
      x[k] <- x[k] + 1
      y <- x / ratio
      d <- if (kind == "range") max(y) - min(y) else mean((y - mean(y))^2)
      G[k] <- G[k] + weights[f] * d
    }
  }
  G
}

ps_probabilities <- function(G, ratio, p_best) {
  K <- length(G)
  if (max(G) - min(G) < 1e-9) return(ratio / sum(ratio))
  best <- abs(G - min(G)) < 1e-9
  m <- sum(best)
  other <- (1 - p_best) / (K - 1)
  ifelse(best, p_best / m + (1 - 1 / m) * other, other)
}

designs <- list(
  list(factors = list(f1 = c("a", "b"), f2 = c("x", "y", "z"), f3 = c("s1", "s2", "s3", "s4")),
       arms = c("A", "B", "C"), ratio = c(2, 1, 1), weights = c(1, 0.5, 2), p_best = 0.7),
  list(factors = list(resp = c("CR_PR", "SD"), prior = c("YES", "NO"), endo = c("AI", "FULV"), her2 = c("DUAL", "SINGLE")),
       arms = c("A", "B"), ratio = c(1, 1), weights = c(1, 1, 1, 1), p_best = 0.8)
)
cases <- list()
for (d in seq_along(designs)) {
  des <- designs[[d]]
  nf <- length(des$factors)
  for (s in 1:60) {
    m <- sample(0:40, 1)
    hist_levels <- matrix(vapply(seq_len(nf), function(f) sample(des$factors[[f]], m, replace = TRUE), character(m)),
                          nrow = m, ncol = nf)
    hist_arm <- sample(des$arms, m, replace = TRUE)
    new_levels <- vapply(des$factors, function(lv) sample(lv, 1), character(1))
    for (kind in c("range", "variance")) {
      G <- ps_scores(hist_levels, hist_arm, new_levels, des$arms, des$ratio, des$weights, kind)
      cases[[length(cases) + 1]] <- list(
        design = d, imbalance = kind,
        history = lapply(seq_len(m), function(i) list(profile = as.list(setNames(hist_levels[i, ], names(des$factors))),
                                                      arm = hist_arm[i])),
        profile = as.list(new_levels),
        scores = as.list(setNames(G, des$arms)),
        probabilities = as.list(setNames(ps_probabilities(G, des$ratio, des$p_best), des$arms))
      )
    }
  }
}
write_json(list(r_version = R.version.string, designs = designs, cases = cases),
           file.path(out_dir, "minimization_scores.json"), auto_unbox = TRUE, digits = NA, pretty = FALSE)

block_imbalance <- function(n, sizes, probs, ratio) {
  R <- sum(ratio)
  q <- numeric(n + 1)  # q[j + 1] = P(a block starts at slot j)
  q[1] <- 1
  for (j in seq_len(n)) for (i in seq_along(sizes)) if (j >= sizes[i]) q[j + 1] <- q[j + 1] + probs[i] * q[j - sizes[i] + 1]
  key0 <- sprintf("%.6f", 0)
  out <- setNames(q[n + 1], key0)
  for (i in seq_along(sizes)) {
    b <- sizes[i]
    a_in_block <- b * ratio[1] / R
    for (m in seq_len(min(b - 1, n))) {
      for (x in 0:m) {
        p <- q[n - m + 1] * probs[i] * dhyper(x, a_in_block, b - a_in_block, m)
        if (p == 0) next
        # complete blocks are exactly at the ratio; only the block in progress counts
        key <- sprintf("%.6f", abs(x / ratio[1] - (m - x) / ratio[2]))
        out[key] <- (if (is.na(out[key])) 0 else out[key]) + p
      }
    }
  }
  out
}
block_cases <- list(
  list(n = 38, sizes = c(2, 4), probs = c(0.5, 0.5), ratio = c(1, 1)),
  list(n = 37, sizes = c(2, 4, 6), probs = c(0.2, 0.5, 0.3), ratio = c(1, 1)),
  list(n = 518, sizes = c(2, 4, 6), probs = c(0.2, 0.5, 0.3), ratio = c(1, 1)),
  list(n = 100, sizes = c(3, 6), probs = c(0.5, 0.5), ratio = c(2, 1))
)
for (i in seq_along(block_cases)) {
  bc <- block_cases[[i]]
  dist <- block_imbalance(bc$n, bc$sizes, bc$probs, bc$ratio)
  dist <- dist[order(as.numeric(names(dist)))]
  block_cases[[i]]$imbalance <- as.numeric(names(dist))
  block_cases[[i]]$probability <- unname(dist)
}
write_json(list(r_version = R.version.string, cases = block_cases),
           file.path(out_dir, "block_imbalance.json"), auto_unbox = TRUE, digits = NA, pretty = TRUE)
cat("wrote", file.path(out_dir, "minimization_scores.json"), "and block_imbalance.json\n")
