"""The customers and companies sequencer: normalize a row, plan a page, send it, settle what came back."""
