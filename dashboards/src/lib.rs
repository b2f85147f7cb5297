//! Placeholder: dashboards land with their own issue.
