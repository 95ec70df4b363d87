PUBLIC, SIGNED_IN = "public", "signed in"
