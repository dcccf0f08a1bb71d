"""Offline evaluation of the recommender (and of search): metrics, baselines, tuning."""
