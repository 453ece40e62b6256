"""The box on her table: the button-and-LED panel (GPIO) and systemd's supervision (ready, watchdog, status)."""
