"""What the page surfaces (hosted, account, dashboard) share: rendering and the error page."""
