"""First-responder inquiries (首问负责制) and the handover switch."""
