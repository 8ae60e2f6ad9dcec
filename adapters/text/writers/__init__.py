"""One writer per target markup. Each escapes user text so it can never become markup."""
