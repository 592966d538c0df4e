"""The first-run demo: a bank of benign synthetic pictures and altered copies to scan.

Every image is drawn here from shapes, gradients and noise with a fixed seed: no
photograph, and certainly no abusive material, is involved anywhere.
"""
