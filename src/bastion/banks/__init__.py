"""Hash banks: named lists of known hashes, their entries and provenance, import and export.

A bank is `match` (hits are reported) or `allow` (hits suppress matches from every
other bank: a negative list for known-benign media). Each bank has its own PDQ
distance threshold. An entry is one item of the bank (an image, a line of a hash
list) with one or more signals (`pdq`, `md5`, `sha1`, `sha256`).
"""
