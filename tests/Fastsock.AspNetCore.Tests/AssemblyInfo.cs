// Tests bind real sockets and pin threads; running them in parallel would make CPU-locality assertions flaky.
[assembly: CollectionBehavior(DisableTestParallelization = true)]
