# Empty dependencies file for clipdebias.
# This may be replaced when dependencies are built.
