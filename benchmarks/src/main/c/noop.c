/* noop: exits at once. Measures start-up and tear-down of each runner. */
int main(void) { return 0; }
