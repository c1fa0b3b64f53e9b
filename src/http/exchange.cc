#include "http/exchange.h"

#include <utility>

namespace interlock::server {

namespace {

// A Responder over functions (Responder's first constructor).
class FunctionTarget final : public Responder::Target {
 public:
  FunctionTarget(boost::asio::any_io_executor executor, Responder::SendFn send,
                 Responder::StartStreamFn start_stream)
      : Target(std::move(executor)),
        send_(std::move(send)),
        start_stream_(std::move(start_stream)) {}
  void Send(HttpResponse res, Responder::WrittenFn written) override {
    send_(std::move(res), std::move(written));
  }
  std::shared_ptr<ResponseStream> StartStream(HttpResponse head,
                                              std::function<void()> on_close) override {
    if (start_stream_) return start_stream_(std::move(head), std::move(on_close));
    auto s = std::make_shared<ResponseStream>([](std::string) {}, [] {});
    s->MarkClosed();
    if (on_close) on_close();
    return s;
  }

 private:
  Responder::SendFn send_;
  Responder::StartStreamFn start_stream_;
};

}  // namespace

Responder::Responder(boost::asio::any_io_executor executor, SendFn send, StartStreamFn start_stream)
    : target_(std::make_shared<FunctionTarget>(std::move(executor), std::move(send),
                                               std::move(start_stream))) {}

}  // namespace interlock::server
