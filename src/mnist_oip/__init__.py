"""Original input patterns (OIPs) of CNN feature maps trained on MNIST."""
