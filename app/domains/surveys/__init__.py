"""Return visits and satisfaction: return-visit plans, questionnaires on a 1–5 scale, results per
customer, statistics."""
