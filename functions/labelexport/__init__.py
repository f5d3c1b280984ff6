"""labelexport: export, validate and split Data Labeling Service exports."""
