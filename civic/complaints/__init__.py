"""civic/complaints."""
