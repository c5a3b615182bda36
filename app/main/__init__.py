"""What belongs to the site rather than an area: the home page, the health check, error pages,
template helpers, and the redirects that keep moved URLs working."""
