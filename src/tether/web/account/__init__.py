"""The Linked accounts page (/account) and the sign-in both it and the dashboard use."""
