"""The `.proto` sources (package `secrets.v1`) and the Python generated from them."""
