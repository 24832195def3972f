"""Reading model text: answers, stances of forced replies, mentions, alignment, the judge, extraction."""
