"""The grievance desk: complaints from the public, the platform and trusted flaggers, on the law's clocks
(India's IT Rules 2021 Rule 3(2); the DSA's "timely"), decided with an answer the complainant can read.
See `service` for the rules and `clocks.json` for the clocks and their citations."""
