# Empty dependencies file for tool_pagecheck.
# This may be replaced when dependencies are built.
