"""Cases and the review queue: claims, decisions, escalation, reviewer wellness, enforcement choices.

A bank match opens a case for the uploading account (or joins its open case), so
one reviewer sees all of an account's matched items together. Reviewers claim a
case exclusively, decide each item (confirm with an industry classification, or
not a match with a reason), or escalate for a second review. Decisions become
enforcement actions through the outbox. Wellness rules (blurred greyscale
thumbnails, one reveal at a time, daily exposure counts) live in `wellness`.
"""
