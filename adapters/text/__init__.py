"""The platform-neutral text engine: template parsing, mentions, credits, writers, fitting."""
