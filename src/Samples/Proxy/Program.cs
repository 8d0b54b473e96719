// The proxy's entry point arrives with its frontends; until then the project builds its config, balancing and
// health-check parts for the tests.
return 0;
