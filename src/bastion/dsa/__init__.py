"""DSA statements of reasons for the Commission's Transparency Database (Art. 24(5)) and the harmonised report."""
