"""Reports over a finished build (the exploratory data analysis); not needed to serve."""
