# Empty dependencies file for clipdebias_engine.
# This may be replaced when dependencies are built.
