"""``python -m tsunagari_geo`` runs the command-line interface."""

from tsunagari_geo.cli import main

main()
