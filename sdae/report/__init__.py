"""What users look at after training: test errors (reconstruction), SVMs on codes (probe), pictures (figures)."""
