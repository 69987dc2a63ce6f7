"""What a command does end to end, across layers: training a run and remembering it on its
card, the demo. The layers below know nothing of each other's memory; these compose them."""
