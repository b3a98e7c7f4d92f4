"""The patient pages (/me/): views, forms and the view models of Today, My treatment,
History and the symptom report answer."""
