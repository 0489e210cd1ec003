#include <fanout/thread_pool.hpp>

#include <catch2/catch.hpp>

#include <stdexcept>
#include <thread>
#include <vector>

TEST_CASE("a pool has the number of threads it was given") {
    fanout::thread_pool pool(3, 5);
    CHECK(pool.size() == 3);
    CHECK(pool.queue_capacity() == 5);
}

TEST_CASE("the default queue holds four offloads per thread") {
    fanout::thread_pool pool(2);
    CHECK(pool.size() == 2);
    CHECK(pool.queue_capacity() == 8);
}

TEST_CASE("a pool needs at least one thread and room for one queued offload") {
    CHECK_THROWS_AS(fanout::thread_pool(0), std::invalid_argument);
    CHECK_THROWS_AS(fanout::thread_pool(0, 4), std::invalid_argument);
    CHECK_THROWS_AS(fanout::thread_pool(1, 0), std::invalid_argument);
}

TEST_CASE("a new pool has nothing queued and nothing waiting") {
    fanout::thread_pool pool(1);
    CHECK(pool.queued() == 0);
    CHECK(pool.waiting() == 0);
}

TEST_CASE("stop can be called more than once, and the destructor after it") {
    fanout::thread_pool pool(2);
    pool.stop();
    pool.stop();
    CHECK(pool.size() == 2);
}

TEST_CASE("stop called from several threads at once returns in each of them") {
    fanout::thread_pool pool(2);
    std::vector<std::thread> stoppers;
    for (int i = 0; i < 4; ++i) stoppers.emplace_back([&pool] { pool.stop(); });
    for (std::thread& stopper : stoppers) stopper.join();
    CHECK(pool.queued() == 0);
}
